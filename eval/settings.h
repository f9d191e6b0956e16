// Settings lists: named SWAA configurations to evaluate side by side, from a JSON file:
//   [{"name": "full"}, {"name": "swa_2k", "sliding_window_size": 2048}, ...]
// or {"settings": [...]}. Each entry holds "name" (unique, non-empty) and the four fields of the
// paper's SWAAConfig (SWAA.md §1); an unknown field is an error naming the entry.
// Tests: tests/unit/eval/settings_test.cc; example: eval/settings/paper_w2k.json.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "swaa/status.h"
#include "swaa/swaa_config.h"

namespace swaa::eval {

struct EvalSetting {
  std::string name;
  SwaaConfig config;
};

Result<std::vector<EvalSetting>> load_settings(const std::string& path);
Result<std::vector<EvalSetting>> parse_settings(const nlohmann::json& j, const std::string& source);

}  // namespace swaa::eval
