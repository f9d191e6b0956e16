// Settings-list parsing (see settings.h); the SWAA fields go through swaa_config_from_json.
#include "eval/settings.h"

#include <nlohmann/json.hpp>
#include <set>

#include "attention/swaa_config_parse.h"
#include "core/json_util.h"

namespace swaa::eval {

Result<std::vector<EvalSetting>> parse_settings(const nlohmann::json& j, const std::string& source) {
  const nlohmann::json* list = &j;
  if (j.is_object()) {
    auto it = j.find("settings");
    if (it == j.end()) return invalid_argument(source + ": expected a JSON array of settings or {\"settings\": [...]}");
    list = &*it;
  }
  if (!list->is_array() || list->empty()) {
    return invalid_argument(source + ": settings must be a non-empty JSON array, got " + json_snippet(*list));
  }
  std::vector<EvalSetting> out;
  std::set<std::string> names;
  for (size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& e = (*list)[i];
    const std::string where = source + ": settings[" + std::to_string(i) + "]";
    if (!e.is_object()) return invalid_argument(where + " must be an object, got " + json_snippet(e));
    auto name = e.find("name");
    if (name == e.end()) return invalid_argument(where + ": missing field \"name\"");
    if (!name->is_string() || name->get<std::string>().empty()) {
      return invalid_argument(where + ": field \"name\" must be a non-empty string, got " + json_snippet(*name));
    }
    EvalSetting s;
    s.name = name->get<std::string>();
    if (!names.insert(s.name).second) return invalid_argument(where + ": duplicate name \"" + s.name + "\"");
    nlohmann::json fields = e;
    fields.erase("name");
    SWAA_ASSIGN_OR_RETURN(s.config, swaa_config_from_json(fields, where + " (\"" + s.name + "\")"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<EvalSetting>> load_settings(const std::string& path) {
  SWAA_ASSIGN_OR_RETURN(nlohmann::json j, read_json_file(path));
  return parse_settings(j, path);
}

}  // namespace swaa::eval
