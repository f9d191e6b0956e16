// Sampler: greedy, top-k/top-p/min-p support sets, penalties, seeded reproducibility, and
// the empirical distribution at temperature 1 matching softmax.
#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <map>
#include <set>
#include <span>

#include "sampling/logprobs.h"

namespace swaa {
namespace {

std::vector<float> logits() { return {1.0f, 3.0f, 2.0f, 0.5f, 2.9f}; }

std::set<int32_t> support(SamplingParams p, int draws = 2000) {
  p.seed = 1;
  Sampler s(p);
  std::set<int32_t> seen;
  for (int i = 0; i < draws; ++i) {
    auto l = logits();
    seen.insert(s.sample(l, {}, {}));
  }
  return seen;
}

TEST(Sampler, Greedy) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  auto l = logits();
  EXPECT_EQ(s.sample(l, {}, {}), 1);
}

TEST(Sampler, FilteringSupports) {
  SamplingParams p;
  p.top_k = 2;
  EXPECT_EQ(support(p), (std::set<int32_t>{1, 4}));
  p = {};
  p.top_p = 0.5f;  // probs ~ [.054 .402 .148 .033 .363]: 1 alone has .402 < .5; with 4, .765
  EXPECT_EQ(support(p), (std::set<int32_t>{1, 4}));
  p = {};
  p.min_p = 0.3f;  // keep p >= 0.3 * p_max: tokens 1, 4, 2
  EXPECT_EQ(support(p), (std::set<int32_t>{1, 2, 4}));
  p = {};
  EXPECT_EQ(support(p).size(), 5u);
}

TEST(Sampler, EmpiricalDistributionMatchesSoftmax) {
  SamplingParams p;
  p.seed = 42;
  Sampler s(p);
  std::map<int32_t, int> counts;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    auto l = logits();
    ++counts[s.sample(l, {}, {})];
  }
  double z = 0;
  for (float v : logits()) z += std::exp(v);
  for (int t = 0; t < 5; ++t) {
    const double want = std::exp(logits()[t]) / z;
    EXPECT_NEAR(counts[t] / double(n), want, 4 * std::sqrt(want * (1 - want) / n) + 1e-3) << t;
  }
}

TEST(Sampler, Penalties) {
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 2.0f;  // token 1 (3.0 -> 1.5) seen in the prompt; token 4 wins
  Sampler s(p);
  auto l = logits();
  EXPECT_EQ(s.sample(l, {1}, {}), 4);
  p = {};
  p.temperature = 0;
  p.frequency_penalty = 0.1f;  // token 1 seen twice in the output: 3.0 - 0.2 < 2.9
  Sampler f(p);
  l = logits();
  EXPECT_EQ(f.sample(l, {}, {1, 1}), 4);
  p.frequency_penalty = 0;
  p.presence_penalty = 0.05f;  // once: 2.95 > 2.9
  Sampler pr(p);
  l = logits();
  EXPECT_EQ(pr.sample(l, {}, {1, 1}), 1);
}

// The penalties as Sampler applied them before penalty_edits (a dense seen-mask, then the output's
// counts), the reference its edits must reproduce bit for bit.
void reference_penalties(const SamplingParams& p, std::vector<float>& logits, const std::vector<int32_t>& prompt,
                         const std::vector<int32_t>& output) {
  const int64_t V = static_cast<int64_t>(logits.size());
  if (p.repetition_penalty != 1.0f) {
    std::vector<bool> seen(V, false);
    for (const auto* list : {&prompt, &output}) {
      for (int32_t t : *list) {
        if (t >= 0 && t < V) seen[t] = true;
      }
    }
    for (int64_t t = 0; t < V; ++t) {
      if (seen[t]) logits[t] = logits[t] > 0 ? logits[t] / p.repetition_penalty : logits[t] * p.repetition_penalty;
    }
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    std::map<int32_t, int> counts;
    for (int32_t t : output) {
      if (t >= 0 && t < V) ++counts[t];
    }
    for (const auto& [t, n] : counts) logits[t] -= p.presence_penalty + p.frequency_penalty * n;
  }
}

// penalty_edits, applied by apply_logit_edits, is the reference bit for bit, step after step of a
// growing output (its counts kept between calls), with out-of-vocabulary ids, repeats, and tokens
// in both prompt and output; each row holds at most one edit per token.
TEST(Sampler, PenaltyEditsAreThePenalties) {
  const int V = 3000;
  std::mt19937 gen(5);
  std::normal_distribution<float> logit(0.f, 4.f);
  std::uniform_int_distribution<int32_t> token(-3, V + 2), small(0, 40);
  const struct {
    float repetition, presence, frequency;
  } settings[] = {{1.3f, 0.f, 0.f}, {0.7f, 0.f, 0.f}, {1.f, 0.4f, 0.f}, {1.f, 0.f, 0.25f}, {1.2f, 0.3f, 0.15f}, {1.f, 0.f, 0.f}};
  for (const auto& st : settings) {
    SamplingParams p;
    p.repetition_penalty = st.repetition, p.presence_penalty = st.presence, p.frequency_penalty = st.frequency;
    Sampler s(p);
    std::vector<int32_t> prompt(500), output;
    for (auto& t : prompt) t = token(gen);
    for (int step = 0; step < 40; ++step) {
      std::vector<float> row(V);
      for (auto& x : row) x = logit(gen);
      std::vector<float> want = row;
      reference_penalties(p, want, prompt, output);
      std::vector<LogitEdit> edits;
      s.penalty_edits(2, V, prompt, output, edits);  // row 2 of a 3-row block
      std::vector<float> block(3 * V, 0.f);
      std::copy(row.begin(), row.end(), block.begin() + 2 * V);
      apply_logit_edits(block, V, edits);
      std::set<int32_t> tokens;
      for (const LogitEdit& e : edits) {
        ASSERT_EQ(e.row, 2);
        ASSERT_TRUE(tokens.insert(e.token).second) << "token " << e.token << " edited twice";
      }
      for (int t = 0; t < V; ++t) {
        ASSERT_EQ(block[2 * V + t], want[t]) << "rep " << st.repetition << " step " << step << " token " << t;
      }
      if (!s.has_penalties()) {
        EXPECT_TRUE(edits.empty());
      }
      // The next step's output: a few new tokens, often repeats (an id past the vocabulary too).
      for (int k = 0; k < 1 + step % 3; ++k) output.push_back(step % 5 == 0 ? small(gen) : token(gen));
    }
  }
}

// A step's host draws (draw_tokens over rows): the edits applied, each row's token that of
// draw_token on its edited row, and the rows that ask for logprobs get compute_logprobs of their
// unedited row (the raw logprobs), the others none.
TEST(Sampler, DrawTokensReportsRawLogprobs) {
  const int V = 500, rows = 3;
  std::mt19937 gen(9);
  std::normal_distribution<float> logit(0.f, 3.f);
  std::vector<float> logits(rows * V);
  for (auto& x : logits) x = logit(gen);
  StepDraws step;
  step.rows = {TokenDraw{0.f, 1.f, 0.f, 0, 0.0, 3}, TokenDraw{0.8f, 0.9f, 0.f, 0, 0.37, -1},
               TokenDraw{1.f, 1.f, 0.f, 5, 0.71, 0}};
  for (int r = 0; r < rows; ++r) {  // penalise each row's best tokens so the edits change the draw
    const float* row = logits.data() + r * V;
    const int best = static_cast<int>(std::max_element(row, row + V) - row);
    step.edits.push_back({r, best, 4.f, 2.f});
  }
  const std::vector<float> raw = logits;
  std::vector<float> edited = logits;
  apply_logit_edits(edited, V, step.edits);
  const DrawnTokens drawn = draw_tokens(logits, V, step);
  ASSERT_EQ(drawn.tokens.size(), static_cast<size_t>(rows));
  ASSERT_EQ(drawn.logprobs.size(), static_cast<size_t>(rows));
  EXPECT_EQ(logits, edited) << "the logits are left edited";
  DrawScratch scratch;
  for (int r = 0; r < rows; ++r) {
    const std::span<const float> e(edited.data() + r * V, V), u(raw.data() + r * V, V);
    EXPECT_EQ(drawn.tokens[r], draw_token(e, step.rows[r], scratch)) << "row " << r;
    if (step.rows[r].logprobs < 0) {
      EXPECT_TRUE(drawn.logprobs[r].top.empty());
      EXPECT_EQ(drawn.logprobs[r].logprob, 0.0);
      continue;
    }
    const SampleLogprobs want = compute_logprobs(u, drawn.tokens[r], step.rows[r].logprobs);
    EXPECT_EQ(drawn.logprobs[r].logprob, want.logprob) << "row " << r;
    ASSERT_EQ(drawn.logprobs[r].top.size(), want.top.size()) << "row " << r;
    for (size_t k = 0; k < want.top.size(); ++k) {
      EXPECT_EQ(drawn.logprobs[r].top[k].token_id, want.top[k].token_id) << "row " << r << " rank " << k;
      EXPECT_EQ(drawn.logprobs[r].top[k].logprob, want.top[k].logprob) << "row " << r << " rank " << k;
    }
  }
  // The greedy row's best token was penalised: its raw top entry is not the drawn token.
  EXPECT_NE(drawn.logprobs[0].top[0].token_id, drawn.tokens[0]);
}

TEST(Sampler, SeededIsReproducible) {
  SamplingParams p;
  p.seed = 7;
  Sampler a(p), b(p);
  for (int i = 0; i < 100; ++i) {
    auto la = logits(), lb = logits();
    ASSERT_EQ(a.sample(la, {}, {}), b.sample(lb, {}, {}));
  }
}

// The sampler sorts only as far as it looks. It must draw what sorting everything first draws: the
// reference below is the earlier implementation (full sort by logit, ties by id; the top k;
// softmax; top-p prefix; min-p; one uniform draw over the kept mass), fed the same seeded engine.
// Peaked rows stay in the first sorted chunk; flat rows and top_p = 1 walk far enough to sort the
// whole row; top_k 40 sorts its 40 candidates.
int32_t full_sort_reference(const std::vector<float>& logits, const SamplingParams& p, std::mt19937_64& rng) {
  const int V = static_cast<int>(logits.size());
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  const int k = p.top_k > 0 ? std::min(p.top_k, V) : V;
  std::vector<double> probs(k);
  const double inv_t = 1.0 / p.temperature;
  double sum = 0;
  for (int i = 0; i < k; ++i) sum += (probs[i] = std::exp((logits[order[i]] - logits[order[0]]) * inv_t));
  for (double& q : probs) q /= sum;
  int keep = k;
  if (p.top_p < 1.0f) {
    double mass = 0;
    for (int i = 0; i < k; ++i) {
      mass += probs[i];
      if (mass >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    int n = 1;
    while (n < keep && probs[n] >= p.min_p * probs[0]) ++n;
    keep = n;
  }
  double kept = 0;
  for (int i = 0; i < keep; ++i) kept += probs[i];
  const double u = std::uniform_real_distribution<double>(0.0, kept)(rng);
  double acc = 0;
  for (int i = 0; i < keep; ++i) {
    acc += probs[i];
    if (u < acc) return order[i];
  }
  return order[keep - 1];
}

TEST(Sampler, DrawsWhatAFullSortDraws) {
  const int V = 20000;
  std::mt19937 gen(3);
  for (float scale : {8.f, 1.f}) {  // peaked (most mass in a few tokens) and flat rows
    std::vector<float> row(V);
    std::normal_distribution<float> d(0.f, scale);
    for (auto& x : row) x = std::round(d(gen) * 16) / 16;  // coarse values: many ties
    for (float temperature : {0.7f, 1.0f}) {
      for (float top_p : {0.9f, 1.0f}) {
        for (float min_p : {0.0f, 0.05f}) {
          for (int top_k : {0, 40}) {
            SamplingParams p;
            p.temperature = temperature;
            p.top_p = top_p;
            p.min_p = min_p;
            p.top_k = top_k;
            p.seed = 99;
            Sampler s(p);
            std::mt19937_64 ref_rng(99);
            for (int draw = 0; draw < 25; ++draw) {
              std::vector<float> l = row;
              const int32_t want = full_sort_reference(row, p, ref_rng);
              ASSERT_EQ(s.sample(l, {}, {}), want) << "scale " << scale << " T " << temperature << " top_p " << top_p
                                                   << " min_p " << min_p << " top_k " << top_k << " draw " << draw;
            }
          }
        }
      }
    }
  }
}

// A device backend draws with next_draw() + the rule of draw_token; the host with sample(). Both
// take the same random number from the request's RNG, so a request that switches between them from
// one step to the next (its batch gained a request with penalties) keeps the host's token sequence.
TEST(Sampler, NextDrawIsTheDrawSampleMakes) {
  const int V = 5000;
  std::mt19937 gen(8);
  std::normal_distribution<float> d(0.f, 3.f);
  std::vector<float> row(V);
  for (auto& x : row) x = d(gen);
  for (float temperature : {0.0f, 0.8f}) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_p = 0.9f;
    p.min_p = 0.02f;
    p.seed = 7;
    Sampler host(p), mixed(p);
    DrawScratch scratch;
    for (int step = 0; step < 60; ++step) {
      std::vector<float> a = row, b = row;
      const int32_t want = host.sample(a, {}, {});
      const int32_t got = step % 3 == 0 ? mixed.sample(b, {}, {}) : draw_token(b, mixed.next_draw(), scratch);
      ASSERT_EQ(got, want) << "T " << temperature << " step " << step;
    }
  }
}

TEST(Sampler, Validation) {
  SamplingParams p;
  p.top_p = 1.5f;
  EXPECT_NE(validate(p).message().find("top_p must be in (0, 1], got 1.5"), std::string::npos);
  p = {};
  p.temperature = -1;
  EXPECT_FALSE(validate(p).ok());
  p = {};
  p.max_tokens = 0;
  EXPECT_NE(validate(p).message().find("max_tokens must be >= 1, got 0"), std::string::npos);
  p = {};
  p.stop = {""};
  EXPECT_FALSE(validate(p).ok());
}

}  // namespace
}  // namespace swaa
