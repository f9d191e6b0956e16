// SwaaConfig from JSON (the paper's SWAAConfig shape, SWAA.md §1) and from CLI flag strings.
// Errors name the source, the field and the bad value. Tests: tests/unit/attention/swaa_config_parse_test.cc
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "swaa/status.h"
#include "swaa/swaa_config.h"

namespace swaa {

// {"sliding_window_size": 2048|null, "keep_first": 100, "force_fa_decode": true|[0,2],
//  "non_sliding_layers": [1,3]}; missing fields keep their defaults, unknown fields are an error.
// load_swaa_config, parse_layer_list and parse_force_fa_decode are public (swaa/swaa_config.h).
Result<SwaaConfig> swaa_config_from_json(const nlohmann::json& j, const std::string& source);
nlohmann::json swaa_config_to_json(const SwaaConfig& config);

}  // namespace swaa
