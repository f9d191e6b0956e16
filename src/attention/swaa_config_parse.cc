// Parsing of SwaaConfig from JSON files and flag strings; validation is shared with
// resolve_layer_policies through validate().
#include "attention/swaa_config_parse.h"

#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>

#include "attention/layer_policy.h"
#include "core/json_util.h"

namespace swaa {

using nlohmann::json;

namespace {

Result<std::vector<int>> json_layer_list(const json& v, const std::string& where) {
  std::vector<int> out;
  if (v.is_null()) return out;
  if (!v.is_array()) return invalid_argument(where + " must be a list of layer indices, got " + json_snippet(v));
  for (const json& e : v) {
    if (!e.is_number_integer()) {
      return invalid_argument(where + " holds " + json_snippet(e) + ", expected integer layer indices");
    }
    out.push_back(e.get<int>());
  }
  return out;
}

}  // namespace

Result<SwaaConfig> swaa_config_from_json(const json& j, const std::string& source) {
  if (!j.is_object()) return invalid_argument(source + ": SWAA config must be a JSON object, got " + json_snippet(j));
  SwaaConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    const std::string where = source + ": field '" + key + "'";
    if (key == "sliding_window_size") {
      if (v.is_null()) {
        c.sliding_window_size.reset();
      } else if (v.is_number_integer()) {
        c.sliding_window_size = v.get<int>();
      } else {
        return invalid_argument(where + " must be an integer or null, got " + json_snippet(v));
      }
    } else if (key == "keep_first") {
      if (v.is_null()) {
        c.keep_first = 0;
      } else if (v.is_number_integer()) {
        c.keep_first = v.get<int>();
      } else {
        return invalid_argument(where + " must be an integer, got " + json_snippet(v));
      }
    } else if (key == "force_fa_decode") {
      if (v.is_boolean()) {
        c.force_fa_decode_all = v.get<bool>();
      } else if (v.is_null()) {
        c.force_fa_decode_all = false;
      } else {
        SWAA_ASSIGN_OR_RETURN(c.force_fa_decode_layers, json_layer_list(v, where));
      }
    } else if (key == "non_sliding_layers") {
      SWAA_ASSIGN_OR_RETURN(c.non_sliding_layers, json_layer_list(v, where));
    } else {
      return invalid_argument(source + ": unknown field '" + key +
                              "' (expected sliding_window_size, keep_first, force_fa_decode, non_sliding_layers)");
    }
  }
  Status st = validate(c);
  if (!st.ok()) return st.with_context(source);
  return c;
}

Result<SwaaConfig> load_swaa_config(const std::string& path) {
  SWAA_ASSIGN_OR_RETURN(json j, read_json_file(path));
  return swaa_config_from_json(j, path);
}

json swaa_config_to_json(const SwaaConfig& c) {
  json j;
  j["sliding_window_size"] = c.sliding_window_size ? json(*c.sliding_window_size) : json(nullptr);
  j["keep_first"] = c.keep_first;
  j["force_fa_decode"] = c.force_fa_decode_layers.empty() ? json(c.force_fa_decode_all) : json(c.force_fa_decode_layers);
  j["non_sliding_layers"] = c.non_sliding_layers;
  return j;
}

Result<std::vector<int>> parse_layer_list(const std::string& text, const std::string& flag) {
  std::string s = text;
  // Accept "[1,3,5]", "1,3,5" and "1 3 5": brackets and commas are separators like spaces.
  for (char& ch : s) {
    if (ch == '[' || ch == ']' || ch == ',') ch = ' ';
  }
  std::vector<int> out;
  size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    const std::string token = s.substr(i, j - i);
    int value = 0;
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec != std::errc() || ptr != token.data() + token.size()) {
      return invalid_argument(flag + ": '" + token + "' in '" + text + "' is not a layer index");
    }
    if (value < 0) return invalid_argument(flag + ": negative layer index " + token + " in '" + text + "'");
    out.push_back(value);
    i = j;
  }
  return out;
}

Status parse_force_fa_decode(const std::string& text, SwaaConfig& config) {
  if (text == "true" || text == "True") {
    config.force_fa_decode_all = true;
    config.force_fa_decode_layers.clear();
    return Status();
  }
  if (text == "false" || text == "False" || text == "none") {
    config.force_fa_decode_all = false;
    config.force_fa_decode_layers.clear();
    return Status();
  }
  SWAA_ASSIGN_OR_RETURN(config.force_fa_decode_layers, parse_layer_list(text, "--force-fa-decode"));
  config.force_fa_decode_all = false;
  return Status();
}

}  // namespace swaa
