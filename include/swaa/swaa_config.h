// SwaaConfig: the four fields of the paper's SWAAConfig (../shared/SWAA.md §1 is normative).
// Parsing and validation live in src/attention/swaa_config_parse.*; per-layer resolution in
// src/attention/layer_policy.*. Tests: tests/unit/attention/.
#pragma once

#include <optional>
#include <vector>

namespace swaa {

struct SwaaConfig {
  // W: keys visible to a query of a sliding layer, counting the query itself. nullopt = full attention.
  std::optional<int> sliding_window_size;
  // S: the first S positions stay visible to every later query of a sliding layer.
  int keep_first = 0;
  // Generated tokens use full attention: in every layer when force_fa_decode_all, else in the listed ones.
  bool force_fa_decode_all = false;
  std::vector<int> force_fa_decode_layers;
  // Layers that always use full causal attention.
  std::vector<int> non_sliding_layers;
};

}  // namespace swaa
