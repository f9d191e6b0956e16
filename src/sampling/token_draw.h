// TokenDraw: how one logits row's token is drawn once penalties are applied. It is the part of a
// request's SamplingParams a backend needs to draw on its device (Backend::draw_rows_f32), with
// the request's uniform random number for this step. LogitEdit: one logit a penalty changes
// (Sampler::penalty_edits); StepDraws: a step's draws and the edits applied before them;
// DrawnTokens: what they give back.
#pragma once

#include <cstdint>
#include <vector>

#include "swaa/logprobs.h"

namespace swaa {

struct TokenDraw {
  float temperature = 0.0f;  // 0 (or top_k 1): the first index of the maximum
  float top_p = 1.0f;        // keep the smallest prefix (by rank) with mass >= top_p of the candidates
  float min_p = 0.0f;        // then drop tokens whose weight is below min_p times the best one's
  int top_k = 0;             // candidates: the k best; 0 or -1: every token
  double uniform = 0.0;      // in [0, 1): the draw lands at uniform x the kept mass, in rank order
  // SamplingParams::logprobs: -1 none; else the drawn token's log-probability and this many most
  // likely tokens', of the raw row (before the edits; compute_logprobs' rule).
  int logprobs = -1;

  bool greedy() const { return temperature == 0.0f || top_k == 1; }
};

// logits[row][token] becomes (x > 0 ? x / repetition : x * repetition) - subtract, each operation
// rounded to fp32 on its own (no fused multiply-add), so host and device give the same bits; a
// repetition of 1 and a subtract of 0 leave x as it is. A row holds at most one edit per token.
struct LogitEdit {
  int32_t row = 0;
  int32_t token = 0;
  float repetition = 1.0f;
  float subtract = 0.0f;
};

// What a step draws from its logit rows: rows[r] from row r, after the edits (penalties).
struct StepDraws {
  std::vector<TokenDraw> rows;
  std::vector<LogitEdit> edits;
};

// A step's drawn tokens: tokens[r] of row r, and logprobs[r] where rows[r].logprobs >= 0 (empty
// entries elsewhere; `logprobs` has one entry per row).
struct DrawnTokens {
  std::vector<int32_t> tokens;
  std::vector<SampleLogprobs> logprobs;
};

}  // namespace swaa
