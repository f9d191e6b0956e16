// tokenizer_config.json and generation_config.json readers; see tokenizer_impl.h.
#include "core/json_util.h"
#include "tokenizer/tokenizer_impl.h"

namespace swaa {
namespace {

// A special-token field: a string, {"content": "...", ...} (AddedToken form) or null.
Result<std::optional<std::string>> token_field(const nlohmann::json& cfg, const char* key, const std::string& path) {
  if (!cfg.contains(key) || cfg[key].is_null()) return std::optional<std::string>();
  const auto& v = cfg[key];
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return std::optional<std::string>(v["content"].get<std::string>());
  }
  return invalid_argument(path + ": field \"" + key + "\" must be a string or {\"content\": ...}, got " +
                          json_snippet(v));
}

}  // namespace

Status load_tokenizer_config(const std::string& path, const Tokenizer::Impl& impl, TokenizerConfig& cfg) {
  SWAA_ASSIGN_OR_RETURN(nlohmann::json j, read_json_file(path));
  if (!j.is_object()) return invalid_argument(path + ": expected a JSON object");
  SWAA_ASSIGN_OR_RETURN(cfg.bos_token, token_field(j, "bos_token", path));
  SWAA_ASSIGN_OR_RETURN(cfg.eos_token, token_field(j, "eos_token", path));
  SWAA_ASSIGN_OR_RETURN(cfg.pad_token, token_field(j, "pad_token", path));
  SWAA_ASSIGN_OR_RETURN(cfg.unk_token, token_field(j, "unk_token", path));
  auto flag = [&](const char* key, bool& out) -> Status {
    if (!j.contains(key) || j[key].is_null()) return {};
    if (!j[key].is_boolean()) return invalid_argument(path + ": field \"" + key + "\" must be true or false, got " +
                                                      json_snippet(j[key]));
    out = j[key].get<bool>();
    return {};
  };
  SWAA_RETURN_IF_ERROR(flag("add_bos_token", cfg.add_bos_token));
  SWAA_RETURN_IF_ERROR(flag("add_eos_token", cfg.add_eos_token));
  if (j.contains("chat_template") && !j["chat_template"].is_null()) {
    const auto& t = j["chat_template"];
    if (t.is_string()) {
      cfg.chat_template = t.get<std::string>();
    } else if (t.is_array()) {
      for (const auto& e : t) {
        if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["name"].is_string() ||
            !e["template"].is_string()) {
          return invalid_argument(path + ": chat_template entries must be {\"name\", \"template\"}, got " +
                                  json_snippet(e));
        }
        cfg.named_chat_templates[e["name"].get<std::string>()] = e["template"].get<std::string>();
      }
      auto it = cfg.named_chat_templates.find("default");
      if (it != cfg.named_chat_templates.end()) cfg.chat_template = it->second;
    } else {
      return invalid_argument(path + ": chat_template must be a string or a list, got " + json_snippet(t));
    }
  }
  auto resolve = [&](const std::optional<std::string>& tok, std::optional<int32_t>& id, const char* key) -> Status {
    if (!tok) return {};
    const tok::AddedToken* a = impl.added.by_content(*tok);
    std::optional<int32_t> found = a ? std::optional<int32_t>(a->id) : impl.model->token_to_id(*tok);
    if (!found) return invalid_argument(path + ": " + key + " \"" + *tok + "\" is not in tokenizer.json");
    id = found;
    return {};
  };
  SWAA_RETURN_IF_ERROR(resolve(cfg.bos_token, cfg.bos_token_id, "bos_token"));
  SWAA_RETURN_IF_ERROR(resolve(cfg.eos_token, cfg.eos_token_id, "eos_token"));
  SWAA_RETURN_IF_ERROR(resolve(cfg.pad_token, cfg.pad_token_id, "pad_token"));
  return {};
}

Status load_generation_config(const std::string& path, TokenizerConfig& cfg) {
  SWAA_ASSIGN_OR_RETURN(nlohmann::json j, read_json_file(path));
  if (!j.is_object()) return invalid_argument(path + ": expected a JSON object");
  if (j.contains("eos_token_id") && !j["eos_token_id"].is_null()) {
    const auto& e = j["eos_token_id"];
    auto push = [&](const nlohmann::json& v) -> Status {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) {
        return invalid_argument(path + ": eos_token_id must be a non-negative integer or a list of them, got " +
                                json_snippet(e));
      }
      cfg.stop_token_ids.push_back(v.get<int32_t>());
      return {};
    };
    if (e.is_array()) {
      for (const auto& v : e) SWAA_RETURN_IF_ERROR(push(v));
    } else {
      SWAA_RETURN_IF_ERROR(push(e));
    }
  }
  if (cfg.eos_token_id) {
    bool have = false;
    for (int32_t id : cfg.stop_token_ids) have = have || id == *cfg.eos_token_id;
    if (!have && !cfg.stop_token_ids.empty()) cfg.stop_token_ids.push_back(*cfg.eos_token_id);
  }
  return {};
}

}  // namespace swaa
