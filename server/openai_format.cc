// JSON bodies for /v1/completions and /v1/chat/completions, streaming and not.
#include "server/openai_format.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

namespace swaa::server {

using json = nlohmann::ordered_json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json usage(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json finish_json(FinishReason r) {
  return r == FinishReason::kNone ? json(nullptr) : json(finish_reason_string(r));
}

json envelope(const ResponseContext& ctx, bool chunk) {
  const bool chat = ctx.endpoint == Endpoint::kChatCompletions;
  const char* object = chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  return {{"id", ctx.id}, {"object", object}, {"created", ctx.created}, {"model", ctx.model}};
}

}  // namespace

ResponseContext make_context(Endpoint endpoint, const std::string& model) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  std::string id = endpoint == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-";
  const uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) id += kHex[(a >> (4 * i)) & 15];
  for (int i = 0; i < 8; ++i) id += kHex[(b >> (4 * i)) & 15];
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {endpoint, id, std::chrono::duration_cast<std::chrono::seconds>(now).count(), model};
}

const char* finish_reason_string(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kNone: break;
  }
  return "";
}

std::string completion_response(const ResponseContext& ctx, const std::vector<ChoiceResult>& choices,
                                 int64_t prompt_tokens) {
  json j = envelope(ctx, false);
  json arr = json::array();
  int64_t completion_tokens = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    completion_tokens += c.completion_tokens;
    json choice = {{"index", i}};
    if (ctx.endpoint == Endpoint::kChatCompletions) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    } else {
      choice["text"] = c.text;
    }
    choice["logprobs"] = c.logprobs;
    choice["finish_reason"] = finish_json(c.finish_reason);
    arr.push_back(std::move(choice));
  }
  j["choices"] = std::move(arr);
  j["usage"] = usage(prompt_tokens, completion_tokens);
  return dump(j);
}

std::string sse_chunk(const ResponseContext& ctx, int index, const std::string& text, FinishReason finish, bool first,
                      const json& logprobs) {
  json j = envelope(ctx, true);
  json choice = {{"index", index}};
  if (ctx.endpoint == Endpoint::kChatCompletions) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || first) delta["content"] = text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finish_json(finish);
  j["choices"] = json::array({std::move(choice)});
  return "data: " + dump(j) + "\n\n";
}

std::string sse_usage(const ResponseContext& ctx, int64_t prompt_tokens, int64_t completion_tokens) {
  json j = envelope(ctx, true);
  j["choices"] = json::array();
  j["usage"] = usage(prompt_tokens, completion_tokens);
  return "data: " + dump(j) + "\n\n";
}

std::string sse_error(const ApiError& error) { return "data: " + error.to_json() + "\n\n"; }

}  // namespace swaa::server
