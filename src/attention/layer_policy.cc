// Validation and per-layer resolution of SwaaConfig (SWAA.md §1), and the visible key ranges.
#include "attention/layer_policy.h"

#include <algorithm>
#include <fmt/format.h>

#include "core/log.h"

namespace swaa {

Status validate(const SwaaConfig& config) {
  if (config.sliding_window_size && *config.sliding_window_size < 1) {
    return invalid_argument("sliding_window_size must be >= 1 or null (full attention), got " +
                            std::to_string(*config.sliding_window_size));
  }
  if (config.keep_first < 0) {
    return invalid_argument("keep_first must be >= 0, got " + std::to_string(config.keep_first));
  }
  for (int l : config.non_sliding_layers) {
    if (l < 0) return invalid_argument("non_sliding_layers holds a negative layer index " + std::to_string(l));
  }
  for (int l : config.force_fa_decode_layers) {
    if (l < 0) return invalid_argument("force_fa_decode holds a negative layer index " + std::to_string(l));
  }
  return Status();
}

Result<std::vector<LayerPolicy>> resolve_layer_policies(const SwaaConfig& config, int num_layers) {
  SWAA_RETURN_IF_ERROR(validate(config));
  std::vector<int> ignored;
  for (const auto* list : {&config.non_sliding_layers, &config.force_fa_decode_layers}) {
    for (int l : *list) {
      if (l >= num_layers) ignored.push_back(l);
    }
  }
  if (!ignored.empty()) {
    std::sort(ignored.begin(), ignored.end());
    ignored.erase(std::unique(ignored.begin(), ignored.end()), ignored.end());
    log::warn("SWAA config lists layer indices {} but the model has {} layers (0..{}); ignoring them",
              fmt::join(ignored, ","), num_layers, num_layers - 1);
  }
  auto contains = [](const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  std::vector<LayerPolicy> policies(num_layers);
  for (int l = 0; l < num_layers; ++l) {
    LayerPolicy& p = policies[l];
    p.sliding = config.sliding_window_size.has_value() && !contains(config.non_sliding_layers, l);
    if (p.sliding) {
      p.window = *config.sliding_window_size;
      p.keep_first = config.keep_first;
      p.fa_decode = config.force_fa_decode_all || contains(config.force_fa_decode_layers, l);
    }
  }
  return policies;
}

KeyRanges visible_ranges(const LayerPolicy& policy, int query_pos, bool generated) {
  KeyRanges r;
  r.window_end = query_pos + 1;
  if (!policy.sliding || (generated && policy.fa_decode)) {
    r.window_begin = 0;
    r.sink_end = 0;
    return r;
  }
  r.window_begin = std::max(0, query_pos - policy.window + 1);
  r.sink_end = std::min(policy.keep_first, r.window_begin);
  return r;
}

std::string describe(const SwaaConfig& config) {
  if (!config.sliding_window_size) return "full attention";
  std::string fa = config.force_fa_decode_all ? "all"
                   : config.force_fa_decode_layers.empty()
                       ? "off"
                       : fmt::format("[{}]", fmt::join(config.force_fa_decode_layers, ","));
  std::string s = fmt::format("W={} S={} fa_decode={}", *config.sliding_window_size, config.keep_first, fa);
  if (!config.non_sliding_layers.empty()) {
    s += fmt::format(" non_sliding=[{}]", fmt::join(config.non_sliding_layers, ","));
  }
  return s;
}

}  // namespace swaa
