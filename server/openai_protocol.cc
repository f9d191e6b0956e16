// Request parsing for the OpenAI endpoints. Fields are read one by one with an explicit type check;
// unknown fields are errors (a typo such as "max_token" must not silently change a request), known
// fields that the engine cannot honour (tools, echo, ...) are errors naming the field,
// and a few informational fields (user, metadata, ...) are accepted and ignored.
#include "server/openai_protocol.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "attention/swaa_config_parse.h"
#include "sampling/sampler.h"
#include "swaa/chat.h"

namespace swaa::server {

using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string snippet(const json& v) {
  std::string s = dump(v);
  if (s.size() > 60) {
    size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
    s = s.substr(0, cut) + "...";
  }
  return s;
}

bool fail(ApiError& e, const std::string& param, const std::string& message, const std::string& code = "invalid_value") {
  e = ApiError{400, message, "invalid_request_error", param, code};
  return false;
}

bool type_error(ApiError& e, const std::string& param, const char* expected, const json& v) {
  return fail(e, param, "'" + param + "' must be " + expected + ", got " + snippet(v), "invalid_type");
}

bool unsupported(ApiError& e, const std::string& param, const std::string& why) {
  return fail(e, param, "'" + param + "' is not supported by this server: " + why, "unsupported_parameter");
}

// Integers may arrive as 5 or 5.0 (Python clients); anything else, or out of range, is an error.
bool get_int(const json& v, const std::string& param, int64_t lo, int64_t hi, int64_t& out, ApiError& e) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(hi)) {
        return fail(e, param, "'" + param + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + snippet(v));
      }
      out = static_cast<int64_t>(u);
    } else {
      out = v.get<int64_t>();
    }
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d == std::floor(d)) || !(std::fabs(d) < 9.2e18)) return type_error(e, param, "an integer", v);
    out = static_cast<int64_t>(d);
  } else {
    return type_error(e, param, "an integer", v);
  }
  if (out < lo || out > hi) {
    return fail(e, param, "'" + param + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + snippet(v));
  }
  return true;
}

bool get_float(const json& v, const std::string& param, float& out, ApiError& e) {
  if (!v.is_number()) return type_error(e, param, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > 1e6) return fail(e, param, "'" + param + "' is out of range: " + snippet(v));
  out = static_cast<float>(d);
  return true;
}

bool get_bool(const json& v, const std::string& param, bool& out, ApiError& e) {
  if (!v.is_boolean()) return type_error(e, param, "a boolean", v);
  out = v.get<bool>();
  return true;
}

bool get_token_ids(const json& v, const std::string& param, std::vector<int32_t>& out, ApiError& e) {
  out.clear();
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t id = 0;
    if (!get_int(v[i], param + "[" + std::to_string(i) + "]", 0, std::numeric_limits<int32_t>::max(), id, e)) return false;
    out.push_back(static_cast<int32_t>(id));
  }
  return true;
}

// prompt: "text" | ["text", ...] | [id, ...] | [[id, ...], ...]
bool parse_prompt(const json& v, std::vector<PromptSpec>& out, ApiError& e) {
  auto one = [&](const json& p, const std::string& param) {
    PromptSpec s;
    if (p.is_string()) {
      s.text = p.get<std::string>();
    } else if (p.is_array() && !p.empty()) {
      s.is_ids = true;
      if (!get_token_ids(p, param, s.ids, e)) return false;
    } else {
      return type_error(e, param, "a string or a non-empty array of token ids", p);
    }
    out.push_back(std::move(s));
    return true;
  };
  if (v.is_string()) return one(v, "prompt");
  if (!v.is_array() || v.empty()) return type_error(e, "prompt", "a string, an array of strings or token ids", v);
  if (v[0].is_number()) return one(v, "prompt");
  if (v.size() > static_cast<size_t>(kMaxPromptsPerRequest)) {
    return fail(e, "prompt", "at most " + std::to_string(kMaxPromptsPerRequest) + " prompts per request, got " + std::to_string(v.size()));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!one(v[i], "prompt[" + std::to_string(i) + "]")) return false;
  }
  return true;
}

// messages: [{"role": "...", "content": "..." | [{"type": "text", "text": "..."}] | null, ...}]
bool parse_messages(const json& v, std::string& out, ApiError& e) {
  if (!v.is_array() || v.empty()) return type_error(e, "messages", "a non-empty array of messages", v);
  static const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool"};
  json norm = json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) return type_error(e, param, "an object with 'role' and 'content'", m);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return fail(e, param + ".role", "'" + param + ".role' must be a string", "invalid_type");
    if (!kRoles.count(role->get<std::string>())) {
      return fail(e, param + ".role", "'" + param + ".role' must be one of system, developer, user, assistant, tool; got " + snippet(*role));
    }
    json nm = m;
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      if (role->get<std::string>() != "assistant") return fail(e, param + ".content", "'" + param + ".content' is required");
      nm["content"] = "";
    } else if (content->is_array()) {
      std::string text;
      for (size_t k = 0; k < content->size(); ++k) {
        const json& part = (*content)[k];
        const std::string pp = param + ".content[" + std::to_string(k) + "]";
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
            !part["text"].is_string()) {
          return fail(e, pp, "'" + pp + "' must be {\"type\": \"text\", \"text\": \"...\"} (only text parts are supported), got " + snippet(part));
        }
        if (k) text += "\n";
        text += part["text"].get<std::string>();
      }
      nm["content"] = text;
    } else if (!content->is_string()) {
      return type_error(e, param + ".content", "a string or an array of text parts", *content);
    }
    norm.push_back(std::move(nm));
  }
  out = dump(norm);
  return true;
}

bool parse_stop(const json& v, std::vector<std::string>& out, ApiError& e) {
  out.clear();
  if (v.is_null()) return true;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > static_cast<size_t>(kMaxStopStrings)) {
      return fail(e, "stop", "at most " + std::to_string(kMaxStopStrings) + " stop strings, got " + std::to_string(v.size()));
    }
    for (const json& s : v) {
      if (!s.is_string()) return type_error(e, "stop", "a string or an array of strings", v);
      out.push_back(s.get<std::string>());
    }
  } else {
    return type_error(e, "stop", "a string or an array of strings", v);
  }
  for (const std::string& s : out) {
    if (s.empty()) return fail(e, "stop", "stop strings must not be empty");
  }
  return true;
}

// Fields a client may send that change nothing here (OpenAI bookkeeping).
bool ignored_field(const std::string& k) {
  return k == "user" || k == "metadata" || k == "store" || k == "service_tier" || k == "parallel_tool_calls" ||
         k == "prompt_cache_key" || k == "safety_identifier";
}

bool parse_field(const std::string& k, const json& v, Endpoint ep, ParsedRequest& r, ApiError& e) {
  const bool chat = ep == Endpoint::kChatCompletions;
  SamplingParams& s = r.sampling;
  int64_t i = 0;
  if (k == "model") {
    if (!v.is_string()) return type_error(e, k, "a string", v);
    r.model = v.get<std::string>();
  } else if (k == "prompt" && !chat) {
    return parse_prompt(v, r.prompts, e);
  } else if (k == "messages" && chat) {
    return parse_messages(v, r.messages_json, e);
  } else if (k == "max_tokens" || (chat && k == "max_completion_tokens")) {
    if (v.is_null()) return true;
    if (!get_int(v, k, 1, std::numeric_limits<int32_t>::max(), i, e)) return false;
    s.max_tokens = static_cast<int>(i);
    r.max_tokens_given = true;
  } else if (k == "temperature") {
    if (!v.is_null() && !get_float(v, k, s.temperature, e)) return false;
  } else if (k == "top_p") {
    if (!v.is_null() && !get_float(v, k, s.top_p, e)) return false;
  } else if (k == "min_p") {
    if (!v.is_null() && !get_float(v, k, s.min_p, e)) return false;
  } else if (k == "top_k") {
    if (v.is_null()) return true;
    if (!get_int(v, k, -1, std::numeric_limits<int32_t>::max(), i, e)) return false;
    s.top_k = static_cast<int>(i);
  } else if (k == "presence_penalty" || k == "frequency_penalty" || k == "repetition_penalty") {
    if (v.is_null()) return true;
    float& dst = k == "presence_penalty" ? s.presence_penalty : k == "frequency_penalty" ? s.frequency_penalty : s.repetition_penalty;
    if (!get_float(v, k, dst, e)) return false;
  } else if (k == "seed") {
    if (v.is_null()) return true;
    if (!get_int(v, k, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), i, e)) return false;
    s.seed = static_cast<uint64_t>(i);
  } else if (k == "stop") {
    return parse_stop(v, s.stop, e);
  } else if (k == "stop_token_ids") {
    if (v.is_null()) return true;
    if (!v.is_array()) return type_error(e, k, "an array of token ids", v);
    return get_token_ids(v, k, s.stop_token_ids, e);
  } else if (k == "ignore_eos") {
    return get_bool(v, k, s.ignore_eos, e);
  } else if (k == "skip_special_tokens") {
    return get_bool(v, k, s.skip_special_tokens, e);
  } else if (k == "n") {
    if (v.is_null()) return true;
    if (!get_int(v, k, 1, kMaxChoices, i, e)) return false;
    r.n = static_cast<int>(i);
  } else if (k == "best_of") {
    if (v.is_null()) return true;
    if (!get_int(v, k, 1, kMaxChoices, i, e)) return false;
    if (i != 1) return unsupported(e, k, "best_of > 1 is not implemented (use n and logprobs, and rank the choices)");
  } else if (k == "stream") {
    if (!v.is_null() && !get_bool(v, k, r.stream, e)) return false;
  } else if (k == "stream_options") {
    if (v.is_null()) return true;
    if (!v.is_object()) return type_error(e, k, "an object", v);
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "include_usage") {
        if (!get_bool(it.value(), "stream_options.include_usage", r.include_usage, e)) return false;
      } else if (it.key() != "continuous_usage_stats" && it.key() != "include_obfuscation") {
        return fail(e, "stream_options." + it.key(), "unknown field 'stream_options." + it.key() + "'", "unknown_field");
      }
    }
  } else if (k == "logprobs" && !chat) {
    if (v.is_null()) return true;
    if (!get_int(v, k, 0, kMaxLogprobs, i, e)) return false;
    s.logprobs = static_cast<int>(i);
  } else if (k == "logprobs" && chat) {
    if (v.is_null()) return true;
    return get_bool(v, k, r.chat_logprobs, e);
  } else if (k == "top_logprobs" && chat) {
    if (v.is_null()) return true;
    if (!get_int(v, k, 0, kMaxLogprobs, i, e)) return false;
    r.top_logprobs = static_cast<int>(i);
  } else if (k == "top_logprobs") {
    if (v.is_null()) return true;
    return fail(e, k, "'top_logprobs' is a /v1/chat/completions field; /v1/completions takes \"logprobs\": N (0.." +
                          std::to_string(kMaxLogprobs) + ")", "unknown_field");
  } else if (k == "echo") {
    if (v.is_null() || v == false) return true;
    return unsupported(e, k, "echo is not implemented");
  } else if (k == "suffix") {
    if (v.is_null() || v == "") return true;
    return unsupported(e, k, "suffix (insertion) is not implemented");
  } else if (k == "logit_bias") {
    if (v.is_null() || (v.is_object() && v.empty())) return true;
    return unsupported(e, k, "logit_bias is not implemented");
  } else if (chat && (k == "tools" || k == "functions")) {
    if (v.is_null() || (v.is_array() && v.empty())) return true;
    return unsupported(e, k, "tool calling is not implemented");
  } else if (chat && (k == "tool_choice" || k == "function_call")) {
    if (v.is_null() || v == "none" || v == "auto") return true;
    return unsupported(e, k, "tool calling is not implemented");
  } else if (chat && k == "response_format") {
    if (v.is_null() || (v.is_object() && v.value("type", json()) == "text")) return true;
    return unsupported(e, k, "only {\"type\": \"text\"} is supported");
  } else if (chat && k == "chat_template_kwargs") {
    if (v.is_null()) return true;
    if (!v.is_object()) return type_error(e, k, "an object", v);
    json rest = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "enable_thinking") {
        bool b = false;
        if (!get_bool(it.value(), "chat_template_kwargs.enable_thinking", b, e)) return false;
        r.enable_thinking = b;
      } else {
        rest[it.key()] = it.value();
      }
    }
    if (!rest.empty()) r.chat_template_kwargs = dump(rest);
  } else if (chat && k == "add_generation_prompt") {
    return get_bool(v, k, r.add_generation_prompt, e);
  } else if (k == "swaa") {
    if (v.is_null()) return true;
    auto c = swaa_config_from_json(v, "swaa");
    if (!c.ok()) return fail(e, "swaa", c.status().message());
    r.swaa = *c;
  } else if (ignored_field(k)) {
    return true;
  } else {
    return fail(e, k, "unknown field '" + k + "'", "unknown_field");
  }
  return true;
}

// Deepest bracket nesting outside strings. Checked before parsing: printing or copying a JSON
// value recurses, so a body like [[[[...]]]] 100k deep must never reach them.
constexpr int kMaxNesting = 32;
int nesting_depth(std::string_view body) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::string ApiError::to_json() const {
  json err = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) err["param"] = param;
  if (!code.empty()) err["code"] = code;
  return dump(json{{"error", err}});
}

bool parse_request(std::string_view body, Endpoint endpoint, ParsedRequest& out, ApiError& error) {
  out = ParsedRequest{};
  out.endpoint = endpoint;
  out.sampling.max_tokens = kCompletionsDefaultMaxTokens;
  if (nesting_depth(body) > kMaxNesting) {
    return fail(error, "", "the body nests arrays/objects deeper than " + std::to_string(kMaxNesting) + " levels", "invalid_json");
  }
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::exception& ex) {
    return fail(error, "", std::string("the body is not valid JSON: ") + ex.what(), "invalid_json");
  }
  if (!j.is_object()) return fail(error, "", "the body must be a JSON object, got " + snippet(j), "invalid_type");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!parse_field(it.key(), it.value(), endpoint, out, error)) return false;
  }
  if (endpoint == Endpoint::kCompletions && out.prompts.empty()) return fail(error, "prompt", "'prompt' is required", "missing_field");
  if (endpoint == Endpoint::kChatCompletions && out.messages_json.empty()) {
    return fail(error, "messages", "'messages' is required", "missing_field");
  }
  if (out.include_usage && !out.stream) return fail(error, "stream_options", "'stream_options' needs \"stream\": true");
  if (out.top_logprobs && !out.chat_logprobs) {
    return fail(error, "top_logprobs", "'top_logprobs' needs \"logprobs\": true");
  }
  if (out.chat_logprobs) out.sampling.logprobs = out.top_logprobs.value_or(0);
  Status st = validate(out.sampling);
  if (!st.ok()) {
    const std::string& m = st.message();
    return fail(error, m.substr(0, m.find(' ')), m);
  }
  return true;
}

bool prepare_prompts(ParsedRequest& r, const Tokenizer* tok, int max_model_len, int vocab_size,
                     std::vector<std::vector<int32_t>>& prompt_ids, ApiError& e, int kv_sequence_tokens) {
  prompt_ids.clear();
  const bool chat = r.endpoint == Endpoint::kChatCompletions;
  const std::string param = chat ? "messages" : "prompt";
  if (chat) {
    if (!tok) return fail(e, "messages", "the model has no tokenizer.json: use /v1/completions with token ids");
    ChatOptions opts;
    opts.add_generation_prompt = r.add_generation_prompt;
    opts.enable_thinking = r.enable_thinking;
    opts.extra_context_json = r.chat_template_kwargs;
    auto text = render_chat(*tok, r.messages_json, opts);
    if (!text.ok()) return fail(e, "messages", "chat template: " + text.status().message());
    auto ids = tok->encode(*text, /*add_special_tokens=*/false);
    if (!ids.ok()) return fail(e, "messages", ids.status().message());
    prompt_ids.push_back(std::move(ids).value());
  } else {
    for (size_t i = 0; i < r.prompts.size(); ++i) {
      const PromptSpec& p = r.prompts[i];
      if (p.is_ids) {
        for (size_t t = 0; t < p.ids.size(); ++t) {
          if (p.ids[t] >= vocab_size) {
            return fail(e, "prompt", "prompt token id " + std::to_string(p.ids[t]) + " at index " + std::to_string(t) +
                                         " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
          }
        }
        prompt_ids.push_back(p.ids);
        continue;
      }
      if (!tok) return fail(e, "prompt", "the model has no tokenizer.json: give the prompt as token ids");
      auto ids = tok->encode(p.text, /*add_special_tokens=*/true);
      if (!ids.ok()) return fail(e, "prompt", ids.status().message());
      prompt_ids.push_back(std::move(ids).value());
    }
  }
  int longest = 0;
  for (const auto& ids : prompt_ids) {
    if (ids.empty()) return fail(e, param, "the prompt is empty (no tokens)");
    longest = std::max(longest, static_cast<int>(ids.size()));
  }
  if (longest >= max_model_len) {
    return fail(e, param, "This model's maximum context length is " + std::to_string(max_model_len) +
                              " tokens; the prompt has " + std::to_string(longest) + " tokens, which leaves no room to generate",
                "context_length_exceeded");
  }
  if (!r.max_tokens_given) {
    const int limit = kv_sequence_tokens > 0 ? std::min(max_model_len, kv_sequence_tokens) : max_model_len;
    const int room = limit - longest;
    if (room < 1) {
      return fail(e, param, "the prompt has " + std::to_string(longest) + " tokens; the KV cache holds at most " +
                                std::to_string(limit) + " tokens of one sequence (raise --kv-cache-gib)",
                  "context_length_exceeded");
    }
    r.sampling.max_tokens = chat ? room : std::min(kCompletionsDefaultMaxTokens, room);
  } else if (static_cast<int64_t>(longest) + r.sampling.max_tokens > max_model_len) {
    return fail(e, "max_tokens", "This model's maximum context length is " + std::to_string(max_model_len) +
                                     " tokens; you requested " + std::to_string(longest + static_cast<int64_t>(r.sampling.max_tokens)) +
                                     " tokens (" + std::to_string(longest) + " in the prompt, " +
                                     std::to_string(r.sampling.max_tokens) + " for the completion)",
                "context_length_exceeded");
  }
  return true;
}

std::string swaa_key(const SwaaConfig& config) {
  SwaaConfig c = config;
  for (auto* list : {&c.force_fa_decode_layers, &c.non_sliding_layers}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  if (c.force_fa_decode_all) c.force_fa_decode_layers.clear();
  if (!c.sliding_window_size) c = SwaaConfig{};  // full attention everywhere: the rest has no effect
  return dump(swaa_config_to_json(c));
}

}  // namespace swaa::server
