// SwaaConfig: the four fields of the paper's SWAAConfig (../shared/SWAA.md §1 is normative).
// Parsing and validation live in src/attention/swaa_config_parse.*; per-layer resolution in
// src/attention/layer_policy.*. Tests: tests/unit/attention/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "swaa/status.h"

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

// Reads a JSON file in the paper's SWAAConfig shape, e.g.
// {"sliding_window_size": 2048, "keep_first": 100, "force_fa_decode": true, "non_sliding_layers": [1, 3]}.
// Missing fields keep their defaults; unknown fields and invalid values are errors naming them.
Result<SwaaConfig> load_swaa_config(const std::string& path);
// Checks the values SWAA.md §1 allows (W >= 1, S >= 0, layer indices >= 0).
Status validate(const SwaaConfig& config);
// Layer lists as the paper's server accepts them: "[1,3,5]", "1,3,5", "1 3 5", "" (empty).
// `flag` names the option in errors.
Result<std::vector<int>> parse_layer_list(const std::string& text, const std::string& flag);
// "true" / "false" / a layer list; sets force_fa_decode_all or force_fa_decode_layers.
Status parse_force_fa_decode(const std::string& text, SwaaConfig& config);
// One-line summary, e.g. "W=2048 S=100 fa_decode=all non_sliding=[1,3]".
std::string describe(const SwaaConfig& config);

}  // namespace swaa
