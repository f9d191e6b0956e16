// Post-processors; see post_processor.h.
#include "tokenizer/post_processor.h"

#include "core/json_util.h"

namespace swaa::tok {

Status PostProcessor::add(const nlohmann::json& spec, std::vector<Step>& steps) {
  if (spec.is_null()) return {};
  if (!spec.is_object() || !spec.contains("type")) {
    return invalid_argument("post_processor: expected an object with a \"type\", got " + json_snippet(spec));
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    for (const auto& p : spec.value("processors", nlohmann::json::array())) SWAA_RETURN_IF_ERROR(add(p, steps));
    return {};
  }
  if (type == "ByteLevel") return {};
  Step s;
  if (type == "TemplateProcessing") {
    const auto& specials = spec.value("special_tokens", nlohmann::json::object());
    bool seen_a = false;
    for (const auto& item : spec.value("single", nlohmann::json::array())) {
      if (item.contains("Sequence")) {
        seen_a = true;
        continue;
      }
      if (!item.contains("SpecialToken")) {
        return invalid_argument("post_processor TemplateProcessing: unknown piece " + json_snippet(item));
      }
      const std::string name = item["SpecialToken"].value("id", std::string());
      if (!specials.contains(name) || !specials[name].contains("ids")) {
        return invalid_argument("post_processor TemplateProcessing: special token \"" + name +
                                "\" has no entry in special_tokens");
      }
      auto& dst = seen_a ? s.suffix : s.prefix;
      for (const auto& id : specials[name]["ids"]) dst.push_back(id.get<int32_t>());
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    // "cls": [token, id], "sep": [token, id]
    if (!spec.contains("cls") || !spec.contains("sep")) {
      return invalid_argument("post_processor " + type + ": needs cls and sep");
    }
    s.prefix.push_back(spec["cls"][1].get<int32_t>());
    s.suffix.push_back(spec["sep"][1].get<int32_t>());
  } else {
    return unimplemented("post_processor type \"" + type + "\" is not supported (supported: Sequence, "
                         "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing)");
  }
  steps.push_back(std::move(s));
  return {};
}

Result<PostProcessor> PostProcessor::from_json(const nlohmann::json& spec) {
  PostProcessor p;
  SWAA_RETURN_IF_ERROR(add(spec, p.steps_));
  return p;
}

std::vector<int32_t> PostProcessor::apply(std::vector<int32_t> ids) const {
  for (const Step& s : steps_) {
    if (s.prefix.empty() && s.suffix.empty()) continue;
    std::vector<int32_t> out(s.prefix);
    out.insert(out.end(), ids.begin(), ids.end());
    out.insert(out.end(), s.suffix.begin(), s.suffix.end());
    ids = std::move(out);
  }
  return ids;
}

}  // namespace swaa::tok
