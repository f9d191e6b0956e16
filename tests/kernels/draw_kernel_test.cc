// cuda::draw_rows (kernels/cuda/draw_tokens.cu, label cuda) against an fp64 reference of TokenDraw's
// rule that sorts the whole row: temperature, top-k, top-p, min-p and the draw at uniform x the kept
// mass, in rank order (logit descending, ties by id). The kernel weighs in fp32 and sums integer
// masses, so its token must be one the reference gives with its decisions (the top-p cut, the min-p
// floor, the draw point) moved by at most 1e-5 relative, and at least 99% of the draws must give the
// exact rule's token. Rows: peaked, flat and very flat, with many tied logits and masked (-inf)
// tokens; 1, 48 and 100 rows per launch (clusters of 8, 2 and 1 CTAs on an H200); greedy rows in the
// same launch; the same launch twice gives the same tokens.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ops.h"
#include "sampling/logprobs.h"
#include "sampling/sampler.h"

namespace swaa {
namespace {

// One row in rank order for one temperature and top_k: ids, fp64 weights exp((logit - max) / T) and
// their running sums (in rank order).
struct Ranked {
  std::vector<int> order;
  std::vector<double> w, cum;
};

Ranked rank_row(const std::vector<float>& logits, float temperature, int top_k) {
  Ranked r;
  const int V = static_cast<int>(logits.size());
  r.order.resize(V);
  std::iota(r.order.begin(), r.order.end(), 0);
  std::stable_sort(r.order.begin(), r.order.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  const int k = top_k > 0 ? std::min(top_k, V) : V;
  r.order.resize(k);
  double sum = 0;
  for (int i = 0; i < k; ++i) {
    r.w.push_back(std::exp((double(logits[r.order[i]]) - logits[r.order[0]]) / temperature));
    r.cum.push_back(sum += r.w.back());
  }
  return r;
}

// The tokens the rule gives with each of its three decisions (the top-p target, the min-p floor, the
// draw point) moved by -1e-5, 0 or +1e-5 relative: the kernel's fp32 weights may land on any of them.
// first: the exact rule's token.
std::pair<int, std::set<int>> possible_tokens(const Ranked& r, const cuda::DrawRow& d) {
  const double eps = 1e-5;
  const int k = static_cast<int>(r.order.size());
  int exact = -1;
  std::set<int> tokens;
  for (int tp : {0, -1, 1}) {
    int keep_p = k;
    if (d.top_p < 1.0f) {
      const double target = double(d.top_p) * r.cum.back() * (1 + tp * eps);
      keep_p = static_cast<int>(std::lower_bound(r.cum.begin(), r.cum.end(), target) - r.cum.begin()) + 1;
      keep_p = std::min(keep_p, k);
    }
    for (int mp : {0, -1, 1}) {
      int keep = keep_p;
      if (d.min_p > 0.0f) {
        const double floor = d.min_p * (1 + mp * eps);
        int n = static_cast<int>(std::partition_point(r.w.begin(), r.w.end(), [&](double w) { return w >= floor; }) -
                                 r.w.begin());
        keep = std::min(keep, std::max(1, n));
      }
      const double kept = r.cum[keep - 1];
      for (int du : {0, -1, 1}) {
        const double u = std::clamp(d.uniform * kept + du * eps * kept, 0.0, kept);
        int i = static_cast<int>(std::upper_bound(r.cum.begin(), r.cum.begin() + keep, u) - r.cum.begin());
        i = std::min(i, keep - 1);
        tokens.insert(r.order[i]);
        if (exact < 0) exact = r.order[i];
      }
    }
  }
  return {exact, tokens};
}

std::vector<int32_t> draw_on_device(const std::vector<float>& row, const std::vector<cuda::DrawRow>& draws) {
  const int rows = static_cast<int>(draws.size()), cols = static_cast<int>(row.size());
  float* d_x = nullptr;
  cuda::DrawRow* d_draws = nullptr;
  int32_t* d_out = nullptr;
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_x), sizeof(float) * row.size() * rows), cudaSuccess);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_draws), sizeof(cuda::DrawRow) * rows), cudaSuccess);
  EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_out), sizeof(int32_t) * rows), cudaSuccess);
  for (int r = 0; r < rows; ++r) {
    EXPECT_EQ(cudaMemcpy(d_x + static_cast<size_t>(r) * cols, row.data(), sizeof(float) * cols, cudaMemcpyHostToDevice),
              cudaSuccess);
  }
  EXPECT_EQ(cudaMemcpy(d_draws, draws.data(), sizeof(cuda::DrawRow) * rows, cudaMemcpyHostToDevice), cudaSuccess);
  std::vector<int32_t> out(rows, -1), again(rows, -2);
  EXPECT_EQ(cuda::draw_rows(d_x, rows, cols, d_draws, d_out, 132, nullptr), "");
  EXPECT_EQ(cudaMemcpy(out.data(), d_out, sizeof(int32_t) * rows, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(cuda::draw_rows(d_x, rows, cols, d_draws, d_out, 132, nullptr), "");
  EXPECT_EQ(cudaMemcpy(again.data(), d_out, sizeof(int32_t) * rows, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(out, again) << "the same draws gave different tokens";
  cudaFree(d_x);
  cudaFree(d_draws);
  cudaFree(d_out);
  return out;
}

TEST(DrawRows, MatchesTheFp64FullSortDraw) {
  std::mt19937 gen(5);
  int checked = 0, exact = 0, ambiguous = 0;
  for (int V : {20000, 151936}) {
    for (float scale : {8.f, 1.f, 0.05f}) {
      std::vector<float> row(V);
      std::normal_distribution<float> nd(0.f, scale);
      for (auto& x : row) x = V == 20000 ? std::round(nd(gen) * 16) / 16 : nd(gen);  // 20000: coarse, many ties
      std::uniform_real_distribution<float> coin(0.f, 1.f);
      for (auto& x : row) {
        if (coin(gen) < 0.1f) x = -INFINITY;  // masked tokens
      }
      const Ranked greedy = rank_row(row, 1.0f, 1);
      for (float temperature : {0.7f, 1.0f}) {
        for (int top_k : {0, 40}) {
          const Ranked ranked = rank_row(row, temperature, top_k);
          for (float top_p : {0.9f, 1.0f}) {
            for (float min_p : {0.0f, 0.05f}) {
              for (int rows : {1, 48, 100}) {
                std::vector<cuda::DrawRow> draws(rows);
                std::uniform_real_distribution<double> uni(0.0, 1.0);
                for (int r = 0; r < rows; ++r) draws[r] = {temperature, top_p, min_p, top_k, uni(gen)};
                if (rows > 1) draws[3].temperature = 0.0f, draws[7].top_k = 1;  // greedy rows in the launch
                const std::vector<int32_t> got = draw_on_device(row, draws);
                for (int r = 0; r < rows; ++r) {
                  const bool is_greedy = draws[r].temperature == 0.0f || draws[r].top_k == 1;
                  const auto [want, allowed] = possible_tokens(is_greedy ? greedy : ranked, draws[r]);
                  ++checked;
                  exact += got[r] == want;
                  ambiguous += allowed.size() > 1;
                  ASSERT_TRUE(allowed.count(got[r]))
                      << "got " << got[r] << ", the rule gives " << want << "; V " << V << " scale " << scale << " T "
                      << temperature << " top_p " << top_p << " min_p " << min_p << " top_k " << top_k << " rows "
                      << rows << " row " << r << " uniform " << draws[r].uniform;
                }
              }
            }
          }
        }
      }
    }
  }
  // Flat rows of 151936 tokens give each token ~1e-5 of the mass, so a 1e-5 move of the draw point
  // often reaches a neighbour; the kernel's fp32 weights move it far less: nearly every draw is the
  // exact rule's token.
  EXPECT_GE(exact * 100, checked * 99) << exact << " of " << checked << " draws gave the exact rule's token ("
                                       << ambiguous << " within 1e-5 of a decision)";
}

// Rows the rule cannot weigh (a NaN, +inf, every token masked) take the argmax as greedy rows do.
TEST(DrawRows, RowsWithoutFiniteWeightsTakeTheArgmax) {
  const int V = 5000;
  std::vector<float> row(V, -INFINITY);
  const cuda::DrawRow d = {1.0f, 0.9f, 0.0f, 0, 0.5};
  EXPECT_EQ(draw_on_device(row, {d}), std::vector<int32_t>{0});
  row[1234] = INFINITY;
  EXPECT_EQ(draw_on_device(row, {d}), std::vector<int32_t>{1234});
  std::vector<float> nan_row(V, 0.0f);
  nan_row[17] = NAN;
  nan_row[4000] = 3.0f;
  const cuda::DrawRow peaked = {0.01f, 1.0f, 0.0f, 0, 0.999};
  EXPECT_EQ(draw_on_device(nan_row, {peaked}), std::vector<int32_t>{4000});  // NaN is never drawn
}

// Equal logits rank by id: with every weight 1 the draw at uniform u is token floor(u x candidates)
// exactly, which only the tie pass (ids in order over the cluster) finds. top_k 100 keeps ids 0..99.
void expect_ties_rank_by_id(int V) {
  const std::vector<float> tied(V, 0.25f);
  for (int top_k : {0, 100}) {
    std::vector<cuda::DrawRow> draws;
    for (double u : {0.0, 0.3, 0.5, 0.77, 0.999999}) draws.push_back({1.0f, 1.0f, 0.0f, top_k, u});
    for (int rows : {1, static_cast<int>(draws.size())}) {
      const std::vector<cuda::DrawRow> launch(draws.begin(), draws.begin() + rows);
      const std::vector<int32_t> got = draw_on_device(tied, launch);
      const int n = top_k > 0 ? top_k : V;
      for (int r = 0; r < rows; ++r) {
        EXPECT_EQ(got[r], static_cast<int>(std::floor(launch[r].uniform * n)))
            << "V " << V << " top_k " << top_k << " u " << launch[r].uniform;
      }
    }
  }
  // top_p 0.5 over V equal tokens (V even) keeps the first V / 2 by id.
  const std::vector<float> row(V, -1.0f);
  EXPECT_EQ(draw_on_device(row, {{1.0f, 0.5f, 0.0f, 0, 0.999}}),
            std::vector<int32_t>{static_cast<int32_t>(std::floor(0.999 * (V / 2)))});
}

TEST(DrawRows, TiedLogitsRankById) { expect_ties_rank_by_id(3000); }
TEST(DrawRows, TiedLogitsRankByIdVocabSized) { expect_ties_rank_by_id(151936); }

// cuda::apply_logit_edits is the host's apply_logit_edits bit for bit (built with --use_fast_math,
// so the kernel must keep its division and multiply-subtract IEEE-rounded): 3 rows of a
// vocabulary-sized block, positive, negative and zero logits, repetition factors above and below 1
// (and 1), subtractions of either sign (and 0).
TEST(DrawRows, LogitEditsAreTheHostsBitForBit) {
  const int rows = 3, cols = 151936;
  std::mt19937 gen(21);
  std::normal_distribution<float> logit(0.f, 5.f);
  std::vector<float> x(static_cast<size_t>(rows) * cols);
  for (auto& v : x) v = logit(gen);
  for (int i = 0; i < 50; ++i) x[i * 7] = 0.f;
  std::vector<LogitEdit> edits;
  std::uniform_real_distribution<float> rep(0.5f, 2.f), sub(-1.f, 1.f);
  for (int r = 0; r < rows; ++r) {
    for (int t = r; t < cols; t += 3 + r) {
      const int kind = t % 4;
      edits.push_back({r, t, kind == 0 ? 1.0f : rep(gen), kind == 1 ? 0.0f : sub(gen)});
    }
  }
  std::vector<float> want = x;
  apply_logit_edits(want, cols, edits);
  std::vector<cuda::LogitEdit> dev(edits.size());
  for (size_t i = 0; i < edits.size(); ++i) dev[i] = {edits[i].row, edits[i].token, edits[i].repetition, edits[i].subtract};
  float* d_x = nullptr;
  cuda::LogitEdit* d_e = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_x), sizeof(float) * x.size()), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_e), sizeof(cuda::LogitEdit) * dev.size()), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_x, x.data(), sizeof(float) * x.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(d_e, dev.data(), sizeof(cuda::LogitEdit) * dev.size(), cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(cuda::apply_logit_edits(d_x, cols, d_e, static_cast<int>(dev.size()), nullptr), "");
  std::vector<float> got(x.size());
  ASSERT_EQ(cudaMemcpy(got.data(), d_x, sizeof(float) * x.size(), cudaMemcpyDeviceToHost), cudaSuccess);
  cudaFree(d_x);
  cudaFree(d_e);
  int changed = 0, differ = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    changed += want[i] != x[i];
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0 && ++differ <= 5) {
      ADD_FAILURE() << "logit " << i << ": device " << got[i] << ", host " << want[i] << " (was " << x[i] << ")";
    }
  }
  EXPECT_EQ(differ, 0);
  EXPECT_GT(changed, static_cast<int>(edits.size()) / 2) << "the edits changed too little to tell";
}

TEST(DrawRows, RejectsOversizedRows) {
  EXPECT_NE(cuda::draw_rows(nullptr, 1, cuda::kMaxDrawCols + 1, nullptr, nullptr, 132, nullptr), "");
}

// cuda::row_logprobs against the host's compute_logprobs (fp64 exponentials and sum): the token's
// logit and the top ids and logits exactly (ties by id, -inf entries ranked by id too), the
// log-probabilities within 1e-5 (the kernel's exponentials are fp32). Rows: vocabulary-sized normal
// logits with ties at the top in different chunks, a row that is -inf but for 3 tokens, a flat row;
// a 25-token row asked for 20 and a 2049-token one (a last chunk of one logit); 0, 1 and 20
// alternatives.
TEST(RowLogprobs, MatchComputeLogprobs) {
  struct Case {
    int cols, num_top;
  };
  for (const Case c : {Case{151936, 20}, Case{151936, 1}, Case{151936, 0}, Case{25, 20}, Case{2049, 20}}) {
    const int n = 5;
    std::mt19937 gen(31 + c.cols + c.num_top);
    std::normal_distribution<float> logit(0.f, 4.f);
    std::vector<float> x(static_cast<size_t>(n) * c.cols);
    for (auto& v : x) v = logit(gen);
    float* row1 = x.data() + c.cols;  // ties among the best: 6 tokens share the maximum, spread out
    for (int i = 0; i < 6; ++i) row1[(i * 7919) % c.cols] = 30.f;
    float* row2 = x.data() + 2 * c.cols;  // -inf but for 3 tokens
    for (int i = 0; i < c.cols; ++i) row2[i] = (i == 3 || i == c.cols / 2 || i == c.cols - 1) ? 1.f * i : -INFINITY;
    float* row3 = x.data() + 3 * c.cols;  // flat
    for (int i = 0; i < c.cols; ++i) row3[i] = 0.25f;
    // rows[i] of the drawn tokens: logprobs of rows 4, 0, 2, 1, 3 of the tokens
    const std::vector<int> rows = {4, 0, 2, 1, 3};
    std::vector<int32_t> tokens(n);
    for (int r = 0; r < n; ++r) tokens[r] = (r * 104729 + 11) % c.cols;
    tokens[2] = 3;  // a finite token of row2 (row i = 2 reads tokens[rows[2]] = tokens[2])
    float* d_x = nullptr;
    int* d_rows = nullptr;
    int32_t* d_tokens = nullptr;
    cuda::RowLogprobs* d_out = nullptr;
    void* d_work = nullptr;
    ASSERT_EQ(cudaMalloc(&d_work, cuda::row_logprobs_workspace_bytes(n, c.cols)), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_x), sizeof(float) * x.size()), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_rows), sizeof(int) * n), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_tokens), sizeof(int32_t) * n), cudaSuccess);
    ASSERT_EQ(cudaMalloc(reinterpret_cast<void**>(&d_out), sizeof(cuda::RowLogprobs) * n), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(d_x, x.data(), sizeof(float) * x.size(), cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(d_rows, rows.data(), sizeof(int) * n, cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(cudaMemcpy(d_tokens, tokens.data(), sizeof(int32_t) * n, cudaMemcpyHostToDevice), cudaSuccess);
    EXPECT_EQ(cuda::row_logprobs(d_x, n, c.cols, d_rows, d_tokens, c.num_top, d_work, d_out, nullptr), "");
    std::vector<cuda::RowLogprobs> got(n);
    ASSERT_EQ(cudaMemcpy(got.data(), d_out, sizeof(cuda::RowLogprobs) * n, cudaMemcpyDeviceToHost), cudaSuccess);
    cudaFree(d_x);
    cudaFree(d_rows);
    cudaFree(d_tokens);
    cudaFree(d_out);
    cudaFree(d_work);
    for (int i = 0; i < n; ++i) {
      const std::span<const float> row(x.data() + static_cast<size_t>(i) * c.cols, c.cols);
      const int32_t token = tokens[rows[i]];
      const SampleLogprobs want = compute_logprobs(row, token, c.num_top);
      const std::string where = "cols " + std::to_string(c.cols) + ", top " + std::to_string(c.num_top) + ", row " +
                                std::to_string(i);
      EXPECT_EQ(got[i].token_logit, row[token]) << where;
      EXPECT_NEAR(got[i].token_logit - got[i].log_norm, want.logprob, 1e-5) << where;
      ASSERT_EQ(static_cast<int>(want.top.size()), c.num_top) << where;
      for (int j = 0; j < c.num_top; ++j) {
        EXPECT_EQ(got[i].top_id[j], want.top[j].token_id) << where << ", rank " << j;
        if (std::isinf(want.top[j].logprob)) {
          EXPECT_TRUE(std::isinf(got[i].top_logit[j])) << where << ", rank " << j;
        } else {
          EXPECT_NEAR(got[i].top_logit[j] - got[i].log_norm, want.top[j].logprob, 1e-5) << where << ", rank " << j;
        }
      }
    }
  }
  EXPECT_NE(cuda::row_logprobs(nullptr, 1, 10, nullptr, nullptr, cuda::kMaxTopLogprobs + 1, nullptr, nullptr, nullptr),
            "");
}

}  // namespace
}  // namespace swaa
