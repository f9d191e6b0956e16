// Token sampling for one request: validate params once, then per step apply penalties,
// temperature, top-k, top-p and min-p to one logits row and draw with the request's own RNG, so a
// seeded request samples the same tokens whatever batch it runs in. The draw itself (everything
// after the penalties) is draw_token; a backend that draws on its device takes next_draw() instead.
// Tests: tests/unit/sampling/sampler_test.cc
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "swaa/sampling_params.h"
#include "sampling/token_draw.h"
#include "swaa/status.h"

namespace swaa {

// Errors name the field and value (e.g. "top_p must be in (0, 1], got 1.5").
Status validate(const SamplingParams& params);

// Reused buffers of draw_token.
struct DrawScratch {
  std::vector<int32_t> order;   // candidate ids, the sorted prefix first
  std::vector<double> weights;  // weights of the sorted prefix, by rank
};

// The host's draw from one logits row (penalties already applied): candidates by rank (logit
// descending, ties by id), weights exp((logit - max) / T) in double, top-k, then top-p, then min-p,
// then the token at d.uniform x the kept mass. Only as much of the order is sorted as the draw looks
// at; the tokens are those of a full sort.
int32_t draw_token(std::span<const float> logits, const TokenDraw& d, DrawScratch& scratch);
// dst[r] = draw_token(row r, draws[r]) for the draws.size() rows of `logits` (rows x cols, row-major).
void draw_tokens(std::span<const float> logits, int64_t cols, std::span<const TokenDraw> draws, int32_t* dst);
// Applies LogitEdit's rule to `logits` (rows x cols, row-major); every edit's row and token must
// lie inside it.
void apply_logit_edits(std::span<float> logits, int64_t cols, std::span<const LogitEdit> edits);
// A step's draws on the host: step.edits applied to `logits` (left edited), then token r =
// draw_token(row r, step.rows[r]), with compute_logprobs of the unedited row where it asks.
DrawnTokens draw_tokens(std::span<float> logits, int64_t cols, const StepDraws& step);

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks the next token. `logits` (one row, vocab entries) is modified in place.
  // `prompt` and `output` feed the penalties (repetition: both; presence/frequency: output).
  int32_t sample(std::span<float> logits, const std::vector<int32_t>& prompt, const std::vector<int32_t>& output);
  // Whether sample() is the first index of the maximum of the raw logits whatever the history:
  // greedy (temperature 0 or top_k 1) with no repetition, presence or frequency penalty.
  bool plain_greedy() const { return draw_params().greedy() && !has_penalties(); }
  // Whether a repetition, presence or frequency penalty edits the logits before the draw.
  bool has_penalties() const {
    return params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
  }
  // The draw sample() would make next, for a backend that draws on its device: consumes the
  // request's RNG exactly as sample() does, so a request can switch between the two from one step
  // to the next.
  TokenDraw next_draw();
  // Appends the penalties' edits of logits row `row` (vocab entries) to `edits`: every token of
  // `prompt` or `output` (ids outside [0, vocab) ignored) with the repetition penalty, and the
  // output's tokens with presence + frequency x count subtracted; nothing without penalties.
  // sample() applies exactly these edits before its draw, so a device applying them draws the
  // host's token. The prompt's distinct tokens are kept from one call to the next (a request's
  // prompt does not change) and the output's counts are updated with its new tokens only.
  void penalty_edits(int32_t row, int32_t vocab, const std::vector<int32_t>& prompt,
                     const std::vector<int32_t>& output, std::vector<LogitEdit>& edits);

 private:

  TokenDraw draw_params() const {
    return {params_.temperature, params_.top_p, params_.min_p, params_.top_k, 0.0, params_.logprobs};
  }

  SamplingParams params_;
  std::mt19937_64 rng_;
  DrawScratch scratch_;
  // penalty_edits' memory: the prompt's distinct in-vocabulary tokens, sorted (for a prompt of
  // prompt_size_ tokens and vocab_), and the output's distinct tokens, sorted, with their counts
  // over its first output_seen_ tokens (the last of which was last_output_token_).
  static constexpr size_t kNoPrompt = ~size_t{0};
  std::vector<int32_t> prompt_tokens_;
  size_t prompt_size_ = kNoPrompt;
  int32_t vocab_ = -1;
  std::vector<int32_t> output_tokens_, output_counts_;
  size_t output_seen_ = 0;
  int32_t last_output_token_ = 0;
  std::vector<LogitEdit> edits_;  // sample()'s buffer
};

}  // namespace swaa
