// The OpenAI request contract: parses the JSON body of POST /v1/completions and
// /v1/chat/completions into engine inputs, and turns prompts into token ids within max_model_len.
// Never throws and never crashes on any byte string; every rejection is an ApiError naming the
// field and the bad value. Tests: tests/server/protocol_test.cc, tests/server/protocol_fuzz_test.cc
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "swaa/sampling_params.h"
#include "swaa/swaa_config.h"
#include "swaa/tokenizer.h"

namespace swaa::server {

// An error in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // "" = null
  std::string code;   // "" = null
  std::string to_json() const;
};

enum class Endpoint { kCompletions, kChatCompletions };

// One prompt of /v1/completions: text, or token ids as given.
struct PromptSpec {
  std::string text;
  std::vector<int32_t> ids;
  bool is_ids = false;
};

struct ParsedRequest {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;                 // "" when the client sent none
  std::vector<PromptSpec> prompts;   // completions: one or more prompts (a batch)
  std::string messages_json;         // chat: messages with content normalised to strings
  std::optional<bool> enable_thinking;
  std::string chat_template_kwargs;  // chat: further template variables as a JSON object, "" = none
  bool add_generation_prompt = true;
  SamplingParams sampling;           // validated; max_tokens only meaningful when max_tokens_given
                                     // logprobs: completions' "logprobs"; chat: "top_logprobs" (or 0)
                                     // when "logprobs" is true; -1 = none
  bool max_tokens_given = false;
  int n = 1;                         // choices per prompt
  bool stream = false;
  bool include_usage = false;        // stream_options.include_usage
  std::optional<SwaaConfig> swaa;    // the request's own SWAA settings (validated)
  bool chat_logprobs = false;        // chat "logprobs": true (resolved into sampling.logprobs)
  std::optional<int> top_logprobs;   // chat "top_logprobs" as sent
};

// Limits on what one request may ask for (they bound the work one HTTP call can queue).
inline constexpr int kMaxChoices = 16;         // n
inline constexpr int kMaxPromptsPerRequest = 64;
inline constexpr int kMaxStopStrings = 16;
inline constexpr int kCompletionsDefaultMaxTokens = 16;  // OpenAI's default for /v1/completions

// Parses `body`. On failure returns false and fills `error` (status 400).
bool parse_request(std::string_view body, Endpoint endpoint, ParsedRequest& out, ApiError& error);

// Token ids of every prompt (chat: the rendered conversation), and max_tokens resolved: when the
// client gave none, completions use 16 and chat uses the room left in max_model_len and in the KV
// cache (`kv_sequence_tokens`: the longest sequence the cache holds alone; 0 = no limit). A prompt
// that leaves no room, or prompt + max_tokens beyond max_model_len, is a 400
// "context_length_exceeded". `tokenizer` may be null (then only token-id prompts are accepted).
bool prepare_prompts(ParsedRequest& request, const Tokenizer* tokenizer, int max_model_len, int vocab_size,
                     std::vector<std::vector<int32_t>>& prompt_ids, ApiError& error, int kv_sequence_tokens = 0);

// A canonical string for a SwaaConfig (sorted, deduplicated layer lists): equal keys = same
// attention for every layer of any model.
std::string swaa_key(const SwaaConfig& config);

}  // namespace swaa::server
