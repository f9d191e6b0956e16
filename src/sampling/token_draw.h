// TokenDraw: how one logits row's token is drawn once penalties are applied. It is the part of a
// request's SamplingParams a backend needs to draw on its device (Backend::draw_rows_f32), with
// the request's uniform random number for this step.
#pragma once

namespace swaa {

struct TokenDraw {
  float temperature = 0.0f;  // 0 (or top_k 1): the first index of the maximum
  float top_p = 1.0f;        // keep the smallest prefix (by rank) with mass >= top_p of the candidates
  float min_p = 0.0f;        // then drop tokens whose weight is below min_p times the best one's
  int top_k = 0;             // candidates: the k best; 0 or -1: every token
  double uniform = 0.0;      // in [0, 1): the draw lands at uniform x the kept mass, in rank order

  bool greedy() const { return temperature == 0.0f || top_k == 1; }
};

}  // namespace swaa
