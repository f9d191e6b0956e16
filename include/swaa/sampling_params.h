// SamplingParams: how one request picks its next tokens and when it stops. Semantics follow
// vLLM's SamplingParams (penalties, then temperature, then top-k, top-p and min-p filtering).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swaa {

inline constexpr int kMaxLogprobs = 20;  // most alternatives per token (OpenAI's limit)

struct SamplingParams {
  float temperature = 1.0f;         // 0 = greedy (argmax)
  float top_p = 1.0f;               // keep the smallest set of tokens with probability mass >= top_p
  int top_k = 0;                    // keep the k most likely tokens; 0 or -1 = all
  float min_p = 0.0f;               // drop tokens with probability < min_p * max probability
  float repetition_penalty = 1.0f;  // > 1 discourages tokens seen in the prompt or output
  float presence_penalty = 0.0f;    // subtracted once from logits of tokens in the output
  float frequency_penalty = 0.0f;   // subtracted per occurrence in the output
  std::optional<uint64_t> seed;     // per-request RNG seed; unset = nondeterministic
  int max_tokens = 256;             // generated tokens at most
  std::vector<std::string> stop;    // stop strings (not included in the output)
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;          // keep generating past the tokenizer's eos ids
  bool skip_special_tokens = true;  // when detokenizing
  // Log-probabilities per generated token (swaa/logprobs.h): -1 = none (no extra work per step),
  // 0 = the chosen token's only, N in 1..kMaxLogprobs = also the N most likely tokens.
  int logprobs = -1;
};

}  // namespace swaa
