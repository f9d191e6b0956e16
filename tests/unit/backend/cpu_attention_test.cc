// CPU SWAA attention against the fp64 full-score-matrix reference: W/S sweep of SWAA.md §5,
// GQA ratios 1/4/8, paged KV with a randomly permuted block table, chunked steps (1, 7, 16,
// random), prompt and generated rows, and large V offsets on sink rows so sink errors show.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "reference/reference_model.h"

namespace swaa {
namespace {

struct Case {
  int W, S, gqa, chunk;
  bool fa_decode;
};

void run_case(const Case& c, uint64_t seed) {
  const int T = 48, P = 32, D = 16, kv_heads = 2, heads = kv_heads * c.gqa, bs = 4;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  // Per position: q [heads, D], k/v [kv_heads, D]. Large scale -> sharp attention.
  std::vector<float> q(T * heads * D), k(T * kv_heads * D), v(T * kv_heads * D);
  for (float& x : q) x = 2.0f * normal(rng);
  for (float& x : k) x = 2.0f * normal(rng);
  for (float& x : v) x = normal(rng);
  for (int j = 0; j < std::min(c.S, T); ++j) {
    for (int i = 0; i < kv_heads * D; ++i) v[j * kv_heads * D + i] += 100.0f;  // make sink errors visible
  }
  SwaaConfig cfg;
  cfg.sliding_window_size = c.W;
  cfg.keep_first = c.S;
  cfg.force_fa_decode_all = c.fa_decode;
  const LayerPolicy policy{.sliding = true, .window = c.W, .keep_first = c.S, .fa_decode = c.fa_decode};
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  // Reference per head over the whole sequence.
  std::vector<double> expected(T * heads * D);
  for (int h = 0; h < heads; ++h) {
    std::vector<double> qh(T * D), kh(T * D), vh(T * D);
    for (int t = 0; t < T; ++t) {
      for (int d = 0; d < D; ++d) {
        qh[t * D + d] = q[(t * heads + h) * D + d];
        kh[t * D + d] = k[(t * kv_heads + h / c.gqa) * D + d];
        vh[t * D + d] = v[(t * kv_heads + h / c.gqa) * D + d];
      }
    }
    auto o = reference::attention(qh, kh, vh, T, D, scale, cfg, 0, P);
    for (int t = 0; t < T; ++t) {
      for (int d = 0; d < D; ++d) expected[(t * heads + h) * D + d] = o[t * D + d];
    }
  }

  // Paged cache with a random permutation of block ids.
  const int num_blocks = T / bs + 4;
  std::vector<int> perm(num_blocks);
  for (int i = 0; i < num_blocks; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  CpuBackend be(1);
  Tensor kc = be.alloc({num_blocks * bs, kv_heads, D}).value(), vc = be.alloc({num_blocks * bs, kv_heads, D}).value();
  std::vector<float> got(T * heads * D);
  int done = 0;
  std::uniform_int_distribution<int> rnd_chunk(1, 11);
  while (done < T) {
    int count = c.chunk > 0 ? c.chunk : rnd_chunk(rng);
    if (done < P) count = std::min(count, P - done);
    else count = 1;
    AttentionLayout L;
    L.num_seqs = 1;
    L.num_tokens = count;
    L.block_size = bs;
    L.cu_seqlens_q = {0, count};
    L.seqlen_k = {done + count};
    const int g = static_cast<int>(KvGroup::kWindowed);
    L.max_blocks[g] = (done + count + bs - 1) / bs;
    L.block_tables[g].assign(perm.begin(), perm.begin() + L.max_blocks[g]);
    for (int t = done; t < done + count; ++t) {
      L.positions.push_back(t);
      L.generated.push_back(t >= P);
      L.slot_mapping[g].push_back(perm[t / bs] * bs + t % bs);
    }
    be.begin_step(L);
    Tensor qt = be.alloc({count, heads, D}).value(), kt = be.alloc({count, kv_heads, D}).value(),
           vt = be.alloc({count, kv_heads, D}).value(), out = be.alloc({count, heads, D}).value();
    std::copy_n(&q[done * heads * D], count * heads * D, qt.data_as<float>());
    std::copy_n(&k[done * kv_heads * D], count * kv_heads * D, kt.data_as<float>());
    std::copy_n(&v[done * kv_heads * D], count * kv_heads * D, vt.data_as<float>());
    be.kv_write(kt, vt, KvGroup::kWindowed, kc, vc);
    be.attention(qt, kc, vc, KvGroup::kWindowed, policy, scale, out);
    std::copy_n(out.data_as<float>(), count * heads * D, &got[done * heads * D]);
    done += count;
  }
  // Tolerance: fp32 accumulation over <= T terms of magnitude <= ~100 (sink offset).
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], expected[i], 2e-4 * (1 + std::abs(expected[i])))
        << "W=" << c.W << " S=" << c.S << " gqa=" << c.gqa << " chunk=" << c.chunk << " fa=" << c.fa_decode
        << " seed=" << seed << " index " << i << " (token " << i / (heads * D) << ")";
  }
}

TEST(CpuAttention, SweepAgainstReference) {
  uint64_t seed = 7;
  for (int W : {1, 2, 3, 4, 5, 16, 48, 100}) {
    for (int S : {0, 1, 3, 6, 20, 60}) {
      for (int gqa : {1, 4, 8}) {
        for (int chunk : {1, 7, 16, 0}) {
          for (bool fa : {false, true}) {
            if ((gqa == 8 || chunk == 16) && (W % 2 == 0) && S > 3) continue;  // keep the sweep quick
            run_case({W, S, gqa, chunk, fa}, seed++);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace swaa
