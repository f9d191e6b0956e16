// The "logprobs" object of one choice in OpenAI's two shapes, built from the engine's per-token
// log-probabilities (swaa/logprobs.h). Completions (legacy): {"tokens", "token_logprobs",
// "top_logprobs": [{token: logprob}], "text_offset"}; chat: {"content": [{"token", "logprob",
// "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}]}. One formatter per choice: a stream
// formats each chunk's tokens in turn and text_offset continues across chunks.
// Tests: tests/server/server_http_test.cc (Logprobs*)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "server/openai_protocol.h"
#include "swaa/logprobs.h"
#include "swaa/tokenizer.h"

namespace swaa::server {

class LogprobsFormatter {
 public:
  // `tokenizer` may be null (token-id-only models). A token the tokenizer does not know (none, or
  // an id of the model's padded vocabulary beyond it) is named "token_id:N", with bytes null.
  // `skip_special_tokens` as for the request's text, which text_offset indexes.
  LogprobsFormatter(Endpoint endpoint, const Tokenizer* tokenizer, bool skip_special_tokens);

  // The logprobs object for `ids` (logprobs[i] belongs to ids[i]).
  nlohmann::ordered_json format(std::span<const int32_t> ids, std::span<const SampleLogprobs> logprobs);

  // A token as OpenAI names it: the text of that token decoded alone (special tokens by their
  // content; U+FFFD where it holds part of a character), and its raw bytes.
  std::string token_string(int32_t id) const;
  nlohmann::ordered_json token_bytes(int32_t id) const;

 private:
  bool known(int32_t id) const;

  Endpoint endpoint_;
  const Tokenizer* tokenizer_;
  std::optional<StreamingDetokenizer> detok_;  // the completion text, for text_offset
  int64_t text_chars_ = 0;                     // Unicode characters of that text so far
};

}  // namespace swaa::server
