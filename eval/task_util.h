// Helpers shared by the synthetic task generators (internal to eval/): fitting a sample to its
// target length, choosing the haystack, counting occurrences. Tests: tests/unit/eval/generators_test.cc.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eval/synthetic_tasks.h"

namespace swaa::eval::detail {

// build(n) must give the same sample for the same n. Returns build(n*) for the largest n* whose
// prompt fits request.target_tokens, with id, task and target_tokens filled in.
Result<EvalSample> fit_sample(const TaskRequest& request, const TaskContext& context, size_t max_n,
                              const std::function<EvalSample(size_t)>& build);

Haystack make_haystack(const TaskContext& context, Haystack::Kind default_kind, uint64_t seed);

// Non-overlapping occurrences of `needle` in `text` (case-sensitive).
int count_occurrences(const std::string& text, const std::string& needle);
// "a", "a and b", "a, b, and c".
std::string join_english(const std::vector<std::string>& items);

// Generators, one per task family (niah_tasks.cc, counting_tasks.cc, babi_task.cc).
Result<EvalSample> generate_niah(const TaskRequest& request, const TaskContext& context);
Result<EvalSample> generate_passkey(const TaskRequest& request, const TaskContext& context);
Result<EvalSample> generate_vt(const TaskRequest& request, const TaskContext& context);
Result<EvalSample> generate_cwe(const TaskRequest& request, const TaskContext& context);
Result<EvalSample> generate_fwe(const TaskRequest& request, const TaskContext& context);
Result<EvalSample> generate_babi(const TaskRequest& request, const TaskContext& context);

}  // namespace swaa::eval::detail
