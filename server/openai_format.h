// Response bodies of the OpenAI endpoints: whole completions, SSE chunks ("data: {...}\n\n"),
// usage objects. Pure functions. Text is serialised with invalid UTF-8 replaced (U+FFFD), so no
// model output can make a response fail. Keys keep OpenAI's order. Tests: tests/server/protocol_test.cc
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/openai_protocol.h"
#include "swaa/engine.h"

namespace swaa::server {

struct ResponseContext {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string id;       // "cmpl-..." or "chatcmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
};

ResponseContext make_context(Endpoint endpoint, const std::string& model);

// "stop", "length", "abort", or "" while running.
const char* finish_reason_string(FinishReason reason);

struct ChoiceResult {
  std::string text;
  FinishReason finish_reason = FinishReason::kNone;
  int completion_tokens = 0;
  nlohmann::ordered_json logprobs;  // null unless requested (openai_logprobs.h)
};

// The non-streaming response body.
std::string completion_response(const ResponseContext& ctx, const std::vector<ChoiceResult>& choices,
                                 int64_t prompt_tokens);
// One SSE event for choice `index`. Chat: `first` adds "role": "assistant" to the delta.
// `finish` = FinishReason::kNone while the choice runs. `logprobs`: of this chunk's tokens, or null.
std::string sse_chunk(const ResponseContext& ctx, int index, const std::string& text, FinishReason finish, bool first,
                      const nlohmann::ordered_json& logprobs = nullptr);
// The final usage event (stream_options.include_usage): "choices": [] and "usage".
std::string sse_usage(const ResponseContext& ctx, int64_t prompt_tokens, int64_t completion_tokens);
// An error event inside a stream, in OpenAI's error shape.
std::string sse_error(const ApiError& error);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

}  // namespace swaa::server
