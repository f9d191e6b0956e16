// Token sampling for one request: validate params once, then per step apply penalties,
// temperature, top-k, top-p and min-p to one logits row and draw with the request's own RNG, so a
// seeded request samples the same tokens whatever batch it runs in.
// Tests: tests/unit/sampling/sampler_test.cc
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "swaa/sampling_params.h"
#include "swaa/status.h"

namespace swaa {

// Errors name the field and value (e.g. "top_p must be in (0, 1], got 1.5").
Status validate(const SamplingParams& params);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks the next token. `logits` (one row, vocab entries) is modified in place.
  // `prompt` and `output` feed the penalties (repetition: both; presence/frequency: output).
  int32_t sample(std::span<float> logits, const std::vector<int32_t>& prompt, const std::vector<int32_t>& output);
  // Whether sample() is the first index of the maximum of the raw logits whatever the history:
  // greedy (temperature 0 or top_k 1) with no repetition, presence or frequency penalty.
  bool plain_greedy() const {
    return (params_.temperature == 0.0f || params_.top_k == 1) && params_.repetition_penalty == 1.0f &&
           params_.presence_penalty == 0.0f && params_.frequency_penalty == 0.0f;
  }

 private:
  void apply_penalties(std::span<float> logits, const std::vector<int32_t>& prompt,
                       const std::vector<int32_t>& output) const;

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<int32_t> order_;  // scratch: candidate ids sorted by probability
  std::vector<double> probs_;   // scratch: weights of the sorted candidates, by rank
};

}  // namespace swaa
