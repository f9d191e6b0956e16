// compute_logprobs against a naive fp64 log-softmax (exp(x)/sum, log taken last): the chosen
// token's value, the top N sorted descending with ties by id, the probabilities summing to 1
// (logsumexp sanity), extreme logits that overflow a naive float softmax, and validation of N.
#include "sampling/logprobs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "sampling/sampler.h"

namespace swaa {
namespace {

std::vector<double> naive_log_softmax(const std::vector<float>& logits) {
  double mx = -INFINITY;
  for (float l : logits) mx = std::max(mx, static_cast<double>(l));
  double sum = 0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - mx);
  std::vector<double> out;
  for (float l : logits) out.push_back(std::log(std::exp(static_cast<double>(l) - mx) / sum));
  return out;
}

std::vector<float> random_logits(int V, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> l(V);
  for (float& x : l) x = d(rng);
  return l;
}

TEST(Logprobs, MatchNaiveReferenceAndSortTop) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    for (int V : {1, 7, 300, 151936}) {
      const auto l = random_logits(V, seed, 4.0f);
      const auto ref = naive_log_softmax(l);
      const int32_t token = static_cast<int32_t>(seed * 7919 % V);
      const int n = std::min(V, 20);
      const SampleLogprobs lp = compute_logprobs(l, token, n);
      EXPECT_NEAR(lp.logprob, ref[token], 1e-9) << "seed " << seed << " V " << V;
      // The reference top N: ids sorted by logit descending, ties by lower id.
      std::vector<int32_t> ids(V);
      std::iota(ids.begin(), ids.end(), 0);
      std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
      ASSERT_EQ(static_cast<int>(lp.top.size()), n);
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(lp.top[i].token_id, ids[i]) << "seed " << seed << " V " << V << " rank " << i;
        EXPECT_NEAR(lp.top[i].logprob, ref[ids[i]], 1e-9);
        if (i > 0) {
          EXPECT_GE(lp.top[i - 1].logprob, lp.top[i].logprob);
        }
      }
      // logsumexp sanity: the probabilities of the whole row sum to 1.
      if (V <= 300) {
        double total = 0;
        for (int32_t v = 0; v < V; ++v) total += std::exp(compute_logprobs(l, v, 0).logprob);
        EXPECT_NEAR(total, 1.0, 1e-12) << "seed " << seed << " V " << V;
      }
    }
  }
}

TEST(Logprobs, TiesByLowerIdAndNoTopForZero) {
  const std::vector<float> l = {1.0f, 2.0f, 2.0f, 0.0f, 2.0f};
  const SampleLogprobs lp = compute_logprobs(l, 3, 4);
  ASSERT_EQ(lp.top.size(), 4u);
  EXPECT_EQ(lp.top[0].token_id, 1);
  EXPECT_EQ(lp.top[1].token_id, 2);
  EXPECT_EQ(lp.top[2].token_id, 4);
  EXPECT_EQ(lp.top[3].token_id, 0);
  EXPECT_DOUBLE_EQ(lp.top[0].logprob, lp.top[2].logprob);
  EXPECT_TRUE(compute_logprobs(l, 3, 0).top.empty());
  EXPECT_EQ(compute_logprobs(l, 3, 5).top.size(), 5u);
}

// Logits of +-1e4 overflow exp() in float and in double without the max shift.
TEST(Logprobs, ExtremeLogitsStayFinite) {
  const std::vector<float> l = {1e4f, 1e4f - 1.0f, -1e4f, 0.0f};
  const SampleLogprobs lp = compute_logprobs(l, 1, 4);
  const double lse = 1e4 + std::log(1.0 + std::exp(-1.0));  // the other two terms underflow to 0
  EXPECT_NEAR(lp.logprob, (1e4 - 1.0) - lse, 1e-9);
  EXPECT_NEAR(lp.top[0].logprob, 1e4 - lse, 1e-9);
  EXPECT_EQ(lp.top[2].token_id, 3);
  EXPECT_NEAR(lp.top[2].logprob, 0.0 - lse, 1e-9);
  EXPECT_EQ(lp.top[3].token_id, 2);
  EXPECT_NEAR(lp.top[3].logprob, -1e4 - lse, 1e-9);
  for (const TokenLogprob& t : lp.top) EXPECT_TRUE(std::isfinite(t.logprob));
}

TEST(Logprobs, ValidateRange) {
  SamplingParams p;
  EXPECT_TRUE(validate(p).ok());  // -1: off
  for (int n : {0, 1, kMaxLogprobs}) {
    p.logprobs = n;
    EXPECT_TRUE(validate(p).ok()) << n;
  }
  for (int n : {-2, kMaxLogprobs + 1, 1000}) {
    p.logprobs = n;
    const Status st = validate(p);
    EXPECT_FALSE(st.ok()) << n;
    EXPECT_NE(st.message().find("logprobs must be -1 (off), 0 (the chosen token only) or 1..20"), std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("got " + std::to_string(n)), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace swaa
