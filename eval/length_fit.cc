// Interpolation search with a bisection safeguard (see length_fit.h).
#include "eval/length_fit.h"

#include <algorithm>
#include <cmath>

namespace swaa::eval {

Result<LengthFit> fit_length(int target, size_t max_n, const std::function<Result<int>(size_t)>& count,
                             const std::string& what) {
  SWAA_ASSIGN_OR_RETURN(int c0, count(0));
  if (c0 > target) {
    return invalid_argument(what + ": target length " + std::to_string(target) + " tokens is shorter than the " +
                            std::to_string(c0) + " tokens the task needs without any filler");
  }
  size_t lo = 0, hi = 0;
  int c_lo = c0, c_hi = 0;
  // Bracket: grow a guess (one unit per missing token first, then by the measured rate) until it overshoots.
  size_t guess = std::min<size_t>(max_n, std::max<size_t>(1, static_cast<size_t>(target - c0)));
  while (true) {
    SWAA_ASSIGN_OR_RETURN(int c, count(guess));
    if (c > target) {
      hi = guess;
      c_hi = c;
      break;
    }
    lo = guess;
    c_lo = c;
    if (c == target) return LengthFit{lo, c_lo};
    if (guess == max_n) {
      return invalid_argument(what + ": " + std::to_string(max_n) + " filler units give only " + std::to_string(c) +
                              " tokens, below the target " + std::to_string(target));
    }
    const double rate = c_lo > c0 ? static_cast<double>(lo) / (c_lo - c0) : 1.0;  // units per token
    const size_t next = lo + static_cast<size_t>(std::ceil((target - c_lo) * rate * 1.1)) + 1;
    guess = std::min(max_n, next);
  }
  bool bisect = false;
  while (hi - lo > 1) {
    size_t mid;
    if (bisect || c_hi == c_lo) {
      mid = lo + (hi - lo) / 2;
    } else {
      const double f = static_cast<double>(target - c_lo) / (c_hi - c_lo);
      mid = lo + static_cast<size_t>(std::llround(f * static_cast<double>(hi - lo)));
      mid = std::clamp(mid, lo + 1, hi - 1);
    }
    const size_t width = hi - lo;
    SWAA_ASSIGN_OR_RETURN(int c, count(mid));
    if (c > target) {
      hi = mid;
      c_hi = c;
    } else {
      lo = mid;
      c_lo = c;
      if (c == target) break;
    }
    bisect = !bisect && (hi - lo) * 2 > width;  // interpolation made poor progress: bisect next
  }
  return LengthFit{lo, c_lo};
}

}  // namespace swaa::eval
