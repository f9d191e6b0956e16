// Log-probabilities of generated tokens, returned when SamplingParams::logprobs >= 0. They are the
// log-softmax of the model's raw logits at that step (before penalties, temperature, top-k, top-p
// and min-p, as vLLM's default "raw_logprobs"), so they equal what `swaa score` gives for the same
// token sequence whatever sampling settings picked the token.
#pragma once

#include <cstdint>
#include <vector>

namespace swaa {

struct TokenLogprob {
  int32_t token_id = 0;
  double logprob = 0;
};

// One generated token: its own log-probability and the `SamplingParams::logprobs` most likely
// tokens at that step, most likely first (ties: lower id first); `top` is empty for logprobs = 0.
struct SampleLogprobs {
  double logprob = 0;
  std::vector<TokenLogprob> top;
};

}  // namespace swaa
