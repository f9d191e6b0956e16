// fit_length: the largest haystack size n whose prompt fits a target length in the model's
// tokens, as RULER does by binary search. Interpolation steps (token counts grow almost linearly
// in n) with a bisection fallback take ~6 tokenizer calls instead of ~17 for 100k-word haystacks.
// Tests: tests/unit/eval/generators_test.cc.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "swaa/status.h"

namespace swaa::eval {

struct LengthFit {
  size_t n = 0;    // haystack units
  int tokens = 0;  // prompt tokens at n (<= target)
};

// count(n) = prompt tokens with n haystack units, non-decreasing in n (approximately is enough:
// the result is always a measured n with count(n) <= target). `what` names the task in errors.
// InvalidArgument when even n = 0 exceeds the target, or when max_n units stay below it.
Result<LengthFit> fit_length(int target, size_t max_n, const std::function<Result<int>(size_t)>& count,
                             const std::string& what);

}  // namespace swaa::eval
