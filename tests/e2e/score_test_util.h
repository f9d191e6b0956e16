// Shared helpers for e2e scoring tests: a SwaaConfig builder and max |Δ| between logprob lists.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "swaa/swaa_config.h"

namespace swaa::testing {

inline SwaaConfig swaa_cfg(std::optional<int> W, int S = 0, bool fa = false, std::vector<int> non_sliding = {},
                           std::vector<int> fa_layers = {}) {
  SwaaConfig c;
  c.sliding_window_size = W;
  c.keep_first = S;
  c.force_fa_decode_all = fa;
  c.force_fa_decode_layers = std::move(fa_layers);
  c.non_sliding_layers = std::move(non_sliding);
  return c;
}

inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = a.size() == b.size() ? 0.0 : INFINITY;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace swaa::testing
