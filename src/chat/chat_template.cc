// render_chat / render_template: builds Transformers' template context and runs swaa's Jinja
// interpreter. See include/swaa/chat.h.
#include <nlohmann/json.hpp>

#include "chat/jinja_template.h"
#include "swaa/chat.h"

namespace swaa {
namespace {

Result<nlohmann::ordered_json> parse_json(std::string_view text, const char* what) {
  auto j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return invalid_argument(std::string(what) + ": invalid JSON");
  }
  return j;
}

Result<std::string> run(std::string_view source, const jinja::Value& ctx) {
  auto t = jinja::Template::parse(std::string(source));
  if (!t.ok()) return t.status().with_context("chat template");
  auto r = t->render(ctx);
  if (!r.ok()) return r.status().with_context("chat template");
  return r;
}

jinja::Value token_or_none(const std::optional<std::string>& t) {
  return t ? jinja::Value(*t) : jinja::Value::none();
}

}  // namespace

Result<std::string> render_template(std::string_view source, std::string_view context_json) {
  SWAA_ASSIGN_OR_RETURN(nlohmann::ordered_json ctx, parse_json(context_json, "template context"));
  if (!ctx.is_object()) return invalid_argument("template context: expected a JSON object");
  return run(source, jinja::Value::from_json(ctx));
}

Result<std::string> render_chat(const Tokenizer& tokenizer, std::string_view messages_json,
                                const ChatOptions& options) {
  const TokenizerConfig& cfg = tokenizer.config();
  const std::string& source = options.template_source.empty() ? cfg.chat_template : options.template_source;
  if (source.empty()) {
    return not_found("chat template: the tokenizer files have no chat_template (tokenizer_config.json or "
                     "chat_template.jinja)");
  }
  SWAA_ASSIGN_OR_RETURN(nlohmann::ordered_json messages, parse_json(messages_json, "messages"));
  if (!messages.is_array()) return invalid_argument("messages: expected a JSON array of {role, content} objects");
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object() || !messages[i].contains("role")) {
      return invalid_argument("messages[" + std::to_string(i) + "]: expected an object with a \"role\"");
    }
  }
  jinja::Value ctx = jinja::Value::new_dict();
  jinja::Dict& d = ctx.dict();
  d.set("messages", jinja::Value::from_json(messages));
  if (options.tools_json.empty()) {
    d.set("tools", jinja::Value::none());
  } else {
    SWAA_ASSIGN_OR_RETURN(nlohmann::ordered_json tools, parse_json(options.tools_json, "tools"));
    d.set("tools", jinja::Value::from_json(tools));
  }
  d.set("documents", jinja::Value::none());
  d.set("add_generation_prompt", jinja::Value(options.add_generation_prompt));
  d.set("bos_token", token_or_none(cfg.bos_token));
  d.set("eos_token", token_or_none(cfg.eos_token));
  d.set("unk_token", token_or_none(cfg.unk_token));
  d.set("pad_token", token_or_none(cfg.pad_token));
  if (options.enable_thinking) d.set("enable_thinking", jinja::Value(*options.enable_thinking));
  if (!options.extra_context_json.empty()) {
    SWAA_ASSIGN_OR_RETURN(nlohmann::ordered_json extra, parse_json(options.extra_context_json, "extra context"));
    if (!extra.is_object()) return invalid_argument("extra context: expected a JSON object");
    for (auto it = extra.begin(); it != extra.end(); ++it) d.set(it.key(), jinja::Value::from_json(it.value()));
  }
  return run(source, ctx);
}

}  // namespace swaa
