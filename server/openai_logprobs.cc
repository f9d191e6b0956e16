// Logprobs JSON. text_offset is the position, in Unicode characters of the choice's text, where a
// token's text starts; it follows the same streaming detokenizer as the text, so tokens that hold
// parts of one character share its offset and skipped special tokens add nothing. (vLLM sums the
// lengths of the per-token strings instead, which drifts from the text at split characters.)
#include "server/openai_logprobs.h"

namespace swaa::server {

using json = nlohmann::ordered_json;

namespace {

int64_t count_chars(const std::string& utf8) {
  int64_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

LogprobsFormatter::LogprobsFormatter(Endpoint endpoint, const Tokenizer* tokenizer, bool skip_special_tokens)
    : endpoint_(endpoint), tokenizer_(tokenizer) {
  if (tokenizer_ != nullptr) detok_.emplace(*tokenizer_, skip_special_tokens);
}

bool LogprobsFormatter::known(int32_t id) const { return tokenizer_ != nullptr && tokenizer_->id_to_token(id); }

std::string LogprobsFormatter::token_string(int32_t id) const {
  if (!known(id)) return "token_id:" + std::to_string(id);
  return tokenizer_->decode(std::span<const int32_t>(&id, 1), /*skip_special_tokens=*/false);
}

json LogprobsFormatter::token_bytes(int32_t id) const {
  if (!known(id)) return nullptr;
  json bytes = json::array();
  for (unsigned char c : tokenizer_->token_bytes(id)) bytes.push_back(static_cast<int>(c));
  return bytes;
}

json LogprobsFormatter::format(std::span<const int32_t> ids, std::span<const SampleLogprobs> logprobs) {
  const size_t n = std::min(ids.size(), logprobs.size());
  if (endpoint_ == Endpoint::kChatCompletions) {
    json content = json::array();
    for (size_t i = 0; i < n; ++i) {
      json top = json::array();
      for (const TokenLogprob& t : logprobs[i].top) {
        top.push_back({{"token", token_string(t.token_id)}, {"logprob", t.logprob}, {"bytes", token_bytes(t.token_id)}});
      }
      content.push_back({{"token", token_string(ids[i])},
                         {"logprob", logprobs[i].logprob},
                         {"bytes", token_bytes(ids[i])},
                         {"top_logprobs", std::move(top)}});
    }
    return {{"content", std::move(content)}};
  }
  json tokens = json::array(), token_logprobs = json::array(), top_logprobs = json::array(), offsets = json::array();
  for (size_t i = 0; i < n; ++i) {
    const std::string token = token_string(ids[i]);
    tokens.push_back(token);
    token_logprobs.push_back(logprobs[i].logprob);
    // The N most likely, then the chosen token if it is not among them (OpenAI: up to N + 1). Two
    // ids may decode to the same string (e.g. U+FFFD): the first, more likely one keeps the key.
    json top = json::object();
    for (const TokenLogprob& t : logprobs[i].top) {
      const std::string s = token_string(t.token_id);
      if (!top.contains(s)) top[s] = t.logprob;
    }
    if (!top.contains(token)) top[token] = logprobs[i].logprob;
    top_logprobs.push_back(std::move(top));
    offsets.push_back(text_chars_);
    if (detok_) text_chars_ += count_chars(detok_->push(ids[i]));
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(token_logprobs)},
          {"top_logprobs", std::move(top_logprobs)},
          {"text_offset", std::move(offsets)}};
}

}  // namespace swaa::server
