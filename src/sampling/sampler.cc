// Penalties -> greedy or (temperature -> softmax -> top-k -> top-p -> min-p -> draw).
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <numeric>
#include <string>

#include "sampling/logprobs.h"

namespace swaa {

Status validate(const SamplingParams& p) {
  auto bad = [](const std::string& what) { return invalid_argument(what); };
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature)) {
    return bad("temperature must be >= 0, got " + std::to_string(p.temperature));
  }
  if (!(p.top_p > 0 && p.top_p <= 1)) return bad("top_p must be in (0, 1], got " + std::to_string(p.top_p));
  if (p.top_k < -1) return bad("top_k must be -1, 0 (disabled) or positive, got " + std::to_string(p.top_k));
  if (!(p.min_p >= 0 && p.min_p <= 1)) return bad("min_p must be in [0, 1], got " + std::to_string(p.min_p));
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty)) {
    return bad("repetition_penalty must be > 0, got " + std::to_string(p.repetition_penalty));
  }
  if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty)) {
    return bad("presence_penalty and frequency_penalty must be finite");
  }
  if (p.max_tokens < 1) return bad("max_tokens must be >= 1, got " + std::to_string(p.max_tokens));
  for (const std::string& s : p.stop) {
    if (s.empty()) return bad("stop strings must not be empty");
  }
  if (p.logprobs < -1 || p.logprobs > kMaxLogprobs) {
    return bad("logprobs must be -1 (off), 0 (the chosen token only) or 1.." + std::to_string(kMaxLogprobs) +
               " (also that many most likely tokens), got " + std::to_string(p.logprobs));
  }
  return Status();
}

Sampler::Sampler(const SamplingParams& params)
    : params_(params), rng_(params.seed ? *params.seed : std::random_device{}()) {}

void Sampler::penalty_edits(int32_t row, int32_t vocab, const std::vector<int32_t>& prompt,
                            const std::vector<int32_t>& output, std::vector<LogitEdit>& edits) {
  if (!has_penalties()) return;
  const bool repetition = params_.repetition_penalty != 1.0f;
  const bool subtract = params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f;
  auto in_vocab = [vocab](int32_t t) { return t >= 0 && t < vocab; };
  // Another row shape, or an output that is not the last one extended: start over.
  if (vocab != vocab_ || output.size() < output_seen_ ||
      (output_seen_ > 0 && output[output_seen_ - 1] != last_output_token_)) {
    output_tokens_.clear(), output_counts_.clear(), output_seen_ = 0;
    prompt_size_ = kNoPrompt;
  }
  vocab_ = vocab;
  for (; output_seen_ < output.size(); ++output_seen_) {
    const int32_t t = output[output_seen_];
    last_output_token_ = t;
    if (!in_vocab(t)) continue;
    auto it = std::lower_bound(output_tokens_.begin(), output_tokens_.end(), t);
    const size_t at = static_cast<size_t>(it - output_tokens_.begin());
    if (it != output_tokens_.end() && *it == t) {
      ++output_counts_[at];
    } else {
      output_tokens_.insert(it, t);
      output_counts_.insert(output_counts_.begin() + static_cast<std::ptrdiff_t>(at), 1);
    }
  }
  if (repetition && prompt_size_ != prompt.size()) {
    prompt_tokens_.clear();
    for (int32_t t : prompt) {
      if (in_vocab(t)) prompt_tokens_.push_back(t);
    }
    std::sort(prompt_tokens_.begin(), prompt_tokens_.end());
    prompt_tokens_.erase(std::unique(prompt_tokens_.begin(), prompt_tokens_.end()), prompt_tokens_.end());
    prompt_size_ = prompt.size();
  }
  const float rep = params_.repetition_penalty;
  auto output_edit = [&](size_t i) {  // as Sampler's penalties always computed it: presence + frequency x n
    const float sub = subtract ? params_.presence_penalty + params_.frequency_penalty * static_cast<float>(output_counts_[i])
                               : 0.0f;
    edits.push_back({row, output_tokens_[i], rep, sub});
  };
  if (!repetition) {
    for (size_t i = 0; i < output_tokens_.size(); ++i) output_edit(i);
    return;
  }
  // The union of the prompt's and the output's tokens, merged in id order.
  size_t i = 0;
  for (int32_t t : prompt_tokens_) {
    for (; i < output_tokens_.size() && output_tokens_[i] < t; ++i) output_edit(i);
    if (i < output_tokens_.size() && output_tokens_[i] == t) {
      output_edit(i++);
    } else {
      edits.push_back({row, t, rep, 0.0f});
    }
  }
  for (; i < output_tokens_.size(); ++i) output_edit(i);
}

void apply_logit_edits(std::span<float> logits, int64_t cols, std::span<const LogitEdit> edits) {
  auto at = [&](const LogitEdit& e) -> float& { return logits[static_cast<size_t>(e.row) * cols + e.token]; };
  // Two passes, each value stored in between: the multiplication and the subtraction are rounded
  // separately (one loop would let the compiler fuse them), as the device kernel computes them.
  for (const LogitEdit& e : edits) {
    float& x = at(e);
    x = x > 0 ? x / e.repetition : x * e.repetition;
  }
  for (const LogitEdit& e : edits) at(e) -= e.subtract;
}

int32_t Sampler::sample(std::span<float> logits, const std::vector<int32_t>& prompt,
                        const std::vector<int32_t>& output) {
  edits_.clear();
  penalty_edits(0, static_cast<int32_t>(logits.size()), prompt, output, edits_);
  apply_logit_edits(logits, static_cast<int64_t>(logits.size()), edits_);
  TokenDraw d = next_draw();
  return draw_token(logits, d, scratch_);
}

TokenDraw Sampler::next_draw() {
  TokenDraw d = draw_params();
  // What std::uniform_real_distribution<double>(0, kept) computes from one call: the canonical
  // number times kept (greedy draws take no random number).
  if (!d.greedy()) d.uniform = std::generate_canonical<double, std::numeric_limits<double>::digits>(rng_);
  return d;
}

void draw_tokens(std::span<const float> logits, int64_t cols, std::span<const TokenDraw> draws, int32_t* dst) {
  DrawScratch scratch;
  for (size_t r = 0; r < draws.size(); ++r) dst[r] = draw_token(logits.subspan(r * cols, cols), draws[r], scratch);
}

DrawnTokens draw_tokens(std::span<float> logits, int64_t cols, const StepDraws& step) {
  const size_t rows = step.rows.size();
  auto row = [&](size_t r) { return logits.subspan(r * cols, cols); };
  std::vector<std::vector<float>> raw(rows);  // the unedited rows that report logprobs
  for (size_t r = 0; r < rows; ++r) {
    if (step.rows[r].logprobs >= 0) raw[r].assign(row(r).begin(), row(r).end());
  }
  apply_logit_edits(logits, cols, step.edits);
  DrawnTokens out;
  out.tokens.resize(rows);
  out.logprobs.resize(rows);
  draw_tokens(std::span<const float>(logits), cols, step.rows, out.tokens.data());
  for (size_t r = 0; r < rows; ++r) {
    if (step.rows[r].logprobs >= 0) out.logprobs[r] = compute_logprobs(raw[r], out.tokens[r], step.rows[r].logprobs);
  }
  return out;
}

int32_t draw_token(std::span<const float> logits, const TokenDraw& d, DrawScratch& scratch) {
  const int32_t V = static_cast<int32_t>(logits.size());
  if (d.greedy()) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  // Candidates: the k best by logit (ties by id, for determinism), every token with top_k off.
  // Weights exp((logit - max) / T), by rank; the sorted order is built only as far as top-p, min-p
  // and the draw look (sorting all 151936 tokens took ~26 ms per row; real logits put nearly all
  // the mass in the first few hundred), so the draws are those of a full sort.
  const int32_t k = d.top_k > 0 ? std::min<int32_t>(d.top_k, V) : V;
  const double inv_t = 1.0 / d.temperature;
  const double mx = *std::max_element(logits.begin(), logits.end());
  auto weight = [&](int32_t id) { return std::exp((logits[id] - mx) * inv_t); };
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::vector<int32_t>& order = scratch.order;
  std::vector<double>& probs = scratch.weights;  // weights of order[0, probs.size()), the sorted prefix
  order.resize(V);
  std::iota(order.begin(), order.end(), 0);
  probs.clear();  // the rest of order ranks below the sorted prefix
  auto sort_to = [&](int32_t upto) {  // the next best (upto - sorted) among the rest, sorted
    const auto first = order.begin() + static_cast<int64_t>(probs.size()), mid = order.begin() + upto;
    if (k < V || mid - first <= 1024) {
      std::partial_sort(first, mid, order.end(), by_logit);  // a heap of the chunk: most ids fail at its top
    } else {
      if (upto < V) std::nth_element(first, mid, order.end(), by_logit);
      std::sort(first, mid, by_logit);
    }
    for (auto it = first; it != mid; ++it) probs.push_back(weight(*it));
  };
  auto weight_at = [&](int32_t i) {  // the weight of the i-th best candidate (i < k)
    if (i >= static_cast<int32_t>(probs.size())) {
      int64_t upto = std::max<int64_t>(256, 4LL * std::max<int64_t>(i + 1, probs.size()));
      sort_to(static_cast<int32_t>(upto > V / 8 ? V : upto));
    }
    return probs[i];
  };
  double total = 0;  // over the candidates: in rank order for top_k, in id order for every token
  if (k < V) {
    sort_to(k);
    for (double w : probs) total += w;
  } else {
    for (int32_t v = 0; v < V; ++v) total += weight(v);
  }
  // top-p: the smallest prefix with mass >= top_p (always at least one token).
  int32_t keep = k;
  if (d.top_p < 1.0f) {
    const double target = d.top_p * total;
    double mass = 0;
    for (int32_t i = 0; i < k; ++i) {
      mass += weight_at(i);
      if (mass >= target) {
        keep = i + 1;
        break;
      }
    }
  }
  // min-p: drop tokens below min_p times the most likely one.
  if (d.min_p > 0.0f) {
    const double floor = d.min_p * weight_at(0);
    int32_t n = 1;
    while (n < keep && weight_at(n) >= floor) ++n;
    keep = n;
  }
  double kept = total;
  if (keep < k) {
    kept = 0;
    for (int32_t i = 0; i < keep; ++i) kept += weight_at(i);
  }
  const double u = d.uniform * kept;
  double acc = 0;
  for (int32_t i = 0; i < keep; ++i) {
    acc += weight_at(i);
    if (u < acc) return order[i];
  }
  return order[keep - 1];  // u at the rounding edge of the sum: the last kept token
}

}  // namespace swaa
