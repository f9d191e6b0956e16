// SWAA CUDA attention kernels (kernels/cuda/swaa_attention.h) against the fp64 reference mask of
// tests/reference/ over the sweep of SWAA.md §5: W and S around the key tile (64), chunked prefill,
// mixed prefill/decode batches with tiles mixing phases, GQA 1/4/8, head dims 64/128, permuted paged
// KV with released (-1, NaN-poisoned) blocks, split-KV 1..N; the Hopper prefill (head dim 128) on
// the same problems. Tolerance: 2x the max error of a naive
// bf16 implementation (bf16 scores and probabilities, fp32 sums) on the same inputs, computed here.
// SWAA_KERNEL_TEST_QUICK=1 runs every 5th case (for compute-sanitizer). Label: cuda.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "kernels/kernel_test_util.h"
#include "reference/reference_model.h"
#include "swaa_attention.h"

namespace swaa {
namespace {

using namespace kernel_test;

#define CUDA_OK(expr)                                                                 \
  do {                                                                                \
    cudaError_t e_ = (expr);                                                          \
    ASSERT_EQ(e_, cudaSuccess) << #expr << ": " << cudaGetErrorString(e_);            \
  } while (0)

constexpr int kKeyTile = 64;  // both kernels' key tile

struct SeqSpec {
  int prompt_len;  // tokens [prompt_len, ...) are generated
  int start;       // queries at positions [start, start + n); the cache holds [0, start + n)
  int n;
};

struct Policy {
  bool sliding = true;
  int W = 0, S = 0;
  bool fa_decode = false;
};

struct Case {
  Policy policy;
  int head_dim = 128, num_kv_heads = 2, gqa = 4, block_size = 16;
  std::vector<SeqSpec> seqs;
  bool sink_offset = false;  // add 64 to V of sink rows so sink errors show
  bool release = true;       // -1 for blocks no query of the batch sees (and NaN in their storage)
  bool shuffle = true;       // physical blocks in random order (false: consecutive, TMA's one-box path)
  uint64_t seed = 0;
  std::string describe() const {
    std::string s = "W=" + std::to_string(policy.W) + " S=" + std::to_string(policy.S) +
                    " sliding=" + std::to_string(policy.sliding) + " fa_decode=" + std::to_string(policy.fa_decode) +
                    " D=" + std::to_string(head_dim) + " kv_heads=" + std::to_string(num_kv_heads) +
                    " gqa=" + std::to_string(gqa) + " bs=" + std::to_string(block_size) +
                    " sink_offset=" + std::to_string(sink_offset) + " release=" + std::to_string(release) +
                    " shuffle=" + std::to_string(shuffle) +
                    " seed=" + std::to_string(seed) + " seqs=";
    for (const SeqSpec& q : seqs) {
      s += "[P=" + std::to_string(q.prompt_len) + " q=" + std::to_string(q.start) + "+" + std::to_string(q.n) + "]";
    }
    return s;
  }
};

// The inputs of one case on the host (values exactly representable in bf16) and on the device.
struct Problem {
  Case c;
  int heads = 0, num_tokens = 0, max_blocks = 0, num_phys_blocks = 0;
  std::vector<int> cu, pos, seqlen_k, block_table;
  std::vector<uint8_t> gen;
  std::vector<std::vector<float>> k, v;  // per seq: [seqlen_k, kv_heads, D]
  std::vector<float> q;                  // [num_tokens, heads, D]
  std::vector<uint16_t> q_bf, k_cache, v_cache;

  SwaaConfig config() const {
    SwaaConfig cfg;
    if (c.policy.sliding) cfg.sliding_window_size = c.policy.W;
    cfg.keep_first = c.policy.S;
    cfg.force_fa_decode_all = c.policy.fa_decode;
    return cfg;
  }
};

Problem make_problem(const Case& c) {
  Problem pr;
  pr.c = c;
  const int D = c.head_dim, KH = c.num_kv_heads, H = KH * c.gqa, bs = c.block_size;
  pr.heads = H;
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<float> normal;
  const SwaaConfig cfg = pr.config();
  pr.cu.push_back(0);
  int total_blocks = 0;
  for (const SeqSpec& s : c.seqs) {
    const int T = s.start + s.n;
    pr.seqlen_k.push_back(T);
    for (int t = s.start; t < T; ++t) {
      pr.pos.push_back(t);
      pr.gen.push_back(t >= s.prompt_len);
    }
    pr.cu.push_back(pr.cu.back() + s.n);
    pr.max_blocks = std::max(pr.max_blocks, (T + bs - 1) / bs);
    total_blocks += (T + bs - 1) / bs;
    std::vector<float> k(static_cast<size_t>(T) * KH * D), v(k.size());
    for (float& x : k) x = bf16_round(1.5f * normal(rng));
    for (float& x : v) x = bf16_round(normal(rng));
    if (c.sink_offset) {
      for (int j = 0; j < std::min(c.policy.S, T); ++j) {
        for (int i = 0; i < KH * D; ++i) v[static_cast<size_t>(j) * KH * D + i] = bf16_round(v[j * KH * D + i] + 64.f);
      }
    }
    pr.k.push_back(std::move(k));
    pr.v.push_back(std::move(v));
  }
  pr.num_tokens = pr.cu.back();
  pr.q.resize(static_cast<size_t>(pr.num_tokens) * H * D);
  for (float& x : pr.q) x = bf16_round(1.5f * normal(rng));
  pr.q_bf.resize(pr.q.size());
  for (size_t i = 0; i < pr.q.size(); ++i) pr.q_bf[i] = f32_to_bf16(pr.q[i]);

  // Paged cache: a random permutation of physical blocks, spare blocks poisoned with NaN.
  pr.num_phys_blocks = total_blocks + 3;
  std::vector<int> perm(pr.num_phys_blocks);
  for (int i = 0; i < pr.num_phys_blocks; ++i) perm[i] = i;
  if (c.shuffle) std::shuffle(perm.begin(), perm.end(), rng);
  const size_t row = static_cast<size_t>(KH) * D;
  pr.k_cache.assign(static_cast<size_t>(pr.num_phys_blocks) * bs * row, kNaNBf16);
  pr.v_cache = pr.k_cache;
  pr.block_table.assign(static_cast<size_t>(c.seqs.size()) * pr.max_blocks, -1);
  int next = 0;
  for (size_t si = 0; si < c.seqs.size(); ++si) {
    const SeqSpec& s = c.seqs[si];
    const int T = pr.seqlen_k[si];
    for (int b = 0; b < (T + bs - 1) / bs; ++b) {
      bool seen = !c.release;
      for (int j = b * bs; j < std::min(T, (b + 1) * bs) && !seen; ++j) {
        for (int t = s.start; t < T && !seen; ++t) seen = reference::visible(cfg, 0, t, j, s.prompt_len);
      }
      const int phys = perm[next++];
      if (!seen) continue;  // released: the table says -1 and the storage stays NaN
      pr.block_table[si * pr.max_blocks + b] = phys;
      for (int j = b * bs; j < std::min(T, (b + 1) * bs); ++j) {
        const size_t dst = (static_cast<size_t>(phys) * bs + j % bs) * row;
        for (size_t i = 0; i < row; ++i) {
          pr.k_cache[dst + i] = f32_to_bf16(pr.k[si][j * row + i]);
          pr.v_cache[dst + i] = f32_to_bf16(pr.v[si][j * row + i]);
        }
      }
    }
  }
  return pr;
}

// fp64 reference and naive bf16 output for every (token, head): [num_tokens, heads, D].
void reference_outputs(const Problem& pr, std::vector<double>& ref, std::vector<float>& naive) {
  const Case& c = pr.c;
  const int D = c.head_dim, H = pr.heads, KH = c.num_kv_heads;
  const SwaaConfig cfg = pr.config();
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  ref.assign(static_cast<size_t>(pr.num_tokens) * H * D, 0.0);
  naive.assign(ref.size(), 0.f);
  std::vector<int> keys;
  std::vector<double> sd;
  std::vector<float> sf;
  for (size_t si = 0; si < c.seqs.size(); ++si) {
    const SeqSpec& s = c.seqs[si];
    const std::vector<float>& K = pr.k[si];
    const std::vector<float>& V = pr.v[si];
    for (int i = 0; i < s.n; ++i) {
      const int tok = pr.cu[si] + i, p = s.start + i;
      keys.clear();
      for (int j = 0; j <= p; ++j) {
        if (reference::visible(cfg, 0, p, j, s.prompt_len)) keys.push_back(j);
      }
      for (int h = 0; h < H; ++h) {
        const int kh = h / c.gqa;
        const float* qv = &pr.q[(static_cast<size_t>(tok) * H + h) * D];
        sd.assign(keys.size(), 0.0);
        sf.assign(keys.size(), 0.f);
        double mx = -INFINITY;
        float mxf = -INFINITY;
        for (size_t a = 0; a < keys.size(); ++a) {
          const float* kv = &K[(static_cast<size_t>(keys[a]) * KH + kh) * D];
          double dd = 0;
          float df = 0;
          for (int d = 0; d < D; ++d) {
            dd += static_cast<double>(qv[d]) * kv[d];
            df += qv[d] * kv[d];
          }
          sd[a] = dd * scale;
          sf[a] = bf16_round(bf16_round(df) * static_cast<float>(scale));
          mx = std::max(mx, sd[a]);
          mxf = std::max(mxf, sf[a]);
        }
        double den = 0;
        float denf = 0;
        for (size_t a = 0; a < keys.size(); ++a) {
          den += (sd[a] = std::exp(sd[a] - mx));
          denf += (sf[a] = std::exp(sf[a] - mxf));
        }
        double* out = &ref[(static_cast<size_t>(tok) * H + h) * D];
        float* outf = &naive[(static_cast<size_t>(tok) * H + h) * D];
        std::vector<float> accf(D, 0.f);
        for (size_t a = 0; a < keys.size(); ++a) {
          const float* vv = &V[(static_cast<size_t>(keys[a]) * KH + kh) * D];
          const double w = sd[a] / den;
          const float wf = bf16_round(sf[a] / denf);
          for (int d = 0; d < D; ++d) {
            out[d] += w * vv[d];
            accf[d] += wf * vv[d];
          }
        }
        for (int d = 0; d < D; ++d) outf[d] = bf16_round(accf[d]);
      }
    }
  }
}

// kPrefillSm90: the Hopper prefill's cp.async kernel (head dim 128 only); kPrefillSm90Tma: its TMA
// kernel (attention_prefill_sm90 picks between them); kPrefillSm90TmaTraced: the TMA kernel's
// instantiation that records PrefillTrace (attention_bench --trace), whose records are checked too.
enum class Kernel { kPrefill, kPrefillSm90, kPrefillSm90Tma, kPrefillSm90TmaTraced, kDecode };
const char* kernel_name(Kernel k) {
  return k == Kernel::kPrefill                 ? "prefill"
         : k == Kernel::kPrefillSm90           ? "prefill_sm90"
         : k == Kernel::kPrefillSm90Tma        ? "prefill_sm90_tma"
         : k == Kernel::kPrefillSm90TmaTraced ? "prefill_sm90_tma_traced"
                                               : "decode";
}

// A traced launch's records: every non-empty query tile recorded once per consumer warpgroup with
// its key tiles and its events in order, and each CTA that had one started and ended (a CTA whose
// rounds hold only empty tiles leaves at once, unrecorded).
void expect_trace_records(const Problem& pr, const cuda::PrefillTrace& t, const std::vector<unsigned long long>& rec) {
  long long want_items = 0;
  for (const SeqSpec& s : pr.c.seqs) want_items += static_cast<long long>((s.n + 127) / 128) * pr.heads;
  long long items = 0;
  const size_t cta = cuda::prefill_trace_cta_words(t.rounds);
  for (int b = 0; b < t.grid; ++b) {
    const unsigned long long* h = rec.data() + b * cta;
    const long long before = items;
    for (int wg = 0; wg < 2; ++wg) {
      for (int k = 0; k < t.rounds; ++k) {
        const unsigned long long* e =
            h + cuda::kTraceHeaderWords + (static_cast<size_t>(wg) * t.rounds + k) * cuda::kTraceItemWords;
        if (e[cuda::kTraceTiles] == 0) continue;
        items += wg == 0;
        for (int ev = cuda::kTraceItemStart; ev < cuda::kTraceStored; ++ev) {
          EXPECT_LE(e[ev], e[ev + 1]) << "CTA " << b << " warpgroup " << wg << " round " << k << " event " << ev;
        }
      }
    }
    if (items == before) continue;
    EXPECT_GT(h[cuda::kTraceStartNs], 0u) << "CTA " << b;
    EXPECT_GE(h[cuda::kTraceEndNs], h[cuda::kTraceStartNs]) << "CTA " << b;
    EXPECT_GE(h[cuda::kTraceEndNs + 1], h[cuda::kTraceStartNs]) << "CTA " << b;
  }
  EXPECT_EQ(items, want_items) << pr.c.describe();
}

// Runs one kernel on the problem and returns the errors; fails the test on launch errors, unwritten
// or non-finite outputs.
Errors run_kernel(const Problem& pr, Kernel kernel, int num_splits, const std::vector<double>& ref,
                  const std::vector<float>& naive) {
  Errors err;
  const Case& c = pr.c;
  DeviceBuffer<uint16_t> d_q(pr.q_bf), d_k(pr.k_cache), d_v(pr.v_cache);
  DeviceBuffer<uint16_t> d_out(std::vector<uint16_t>(pr.q_bf.size(), kNaNBf16));
  DeviceBuffer<int> d_cu(pr.cu), d_pos(pr.pos), d_seqlen_k(pr.seqlen_k), d_bt(pr.block_table);
  DeviceBuffer<uint8_t> d_gen(pr.gen);
  cuda::AttentionParams p;
  p.q = d_q.ptr;
  p.out = d_out.ptr;
  p.k_cache = d_k.ptr;
  p.v_cache = d_v.ptr;
  p.cu_seqlens_q = d_cu.ptr;
  p.positions = d_pos.ptr;
  p.generated = d_gen.ptr;
  p.seqlen_k = d_seqlen_k.ptr;
  p.block_table = d_bt.ptr;
  p.num_seqs = static_cast<int>(c.seqs.size());
  p.num_tokens = pr.num_tokens;
  for (const SeqSpec& s : c.seqs) p.max_seqlen_q = std::max(p.max_seqlen_q, s.n);
  p.max_seqlen_k = *std::max_element(pr.seqlen_k.begin(), pr.seqlen_k.end());
  p.num_heads = pr.heads;
  p.num_kv_heads = c.num_kv_heads;
  p.head_dim = c.head_dim;
  p.block_size = c.block_size;
  p.max_blocks = pr.max_blocks;
  p.num_slots = static_cast<long long>(pr.num_phys_blocks) * c.block_size;
  p.sliding = c.policy.sliding;
  p.window = c.policy.W;
  p.keep_first = c.policy.S;
  p.fa_decode = c.policy.fa_decode;
  p.softmax_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)));
  std::string msg;
  if (kernel == Kernel::kPrefill) {
    msg = cuda::attention_prefill(p, nullptr);
  } else if (kernel == Kernel::kPrefillSm90) {
    msg = cuda::attention_prefill_sm90_cp_async(p, nullptr);
  } else if (kernel == Kernel::kPrefillSm90Tma) {
    msg = cuda::attention_prefill_sm90_tma_schedule(p, static_cast<cuda::PrefillSchedule>(num_splits), nullptr);
  } else if (kernel == Kernel::kPrefillSm90TmaTraced) {
    const auto schedule = static_cast<cuda::PrefillSchedule>(num_splits);
    cuda::PrefillTrace t = cuda::prefill_trace_shape(p, schedule);
    DeviceBuffer<unsigned long long> rec(std::vector<unsigned long long>(t.grid * cuda::prefill_trace_cta_words(t.rounds)));
    t.records = rec.ptr;
    msg = cuda::attention_prefill_sm90_tma_schedule(p, schedule, nullptr, &t);
    if (msg.empty()) {
      const cudaError_t e = cudaDeviceSynchronize();
      if (e != cudaSuccess) msg = cudaGetErrorString(e);
    }
    if (msg.empty()) expect_trace_records(pr, t, rec.download());
  } else {
    DeviceBuffer<unsigned char> ws(cuda::decode_workspace_bytes(p, num_splits));
    msg = cuda::attention_decode(p, num_splits, ws.ptr, nullptr);
    if (msg.empty()) {
      const cudaError_t e = cudaDeviceSynchronize();
      if (e != cudaSuccess) msg = cudaGetErrorString(e);
    }
  }
  if (msg.empty()) {
    const cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) msg = cudaGetErrorString(e);
  }
  EXPECT_EQ(msg, "") << c.describe();
  if (!msg.empty()) {
    err.kernel = INFINITY;
    return err;
  }
  const std::vector<uint16_t> out = d_out.download();
  size_t bad = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const float x = bf16_to_f32(out[i]);
    if (!std::isfinite(x)) {
      if (bad++ == 0) ADD_FAILURE() << "non-finite or unwritten output at index " << i << " (token "
                                    << i / (pr.heads * c.head_dim) << ") " << c.describe();
      err.kernel = INFINITY;
      continue;
    }
    err.kernel = std::max(err.kernel, std::abs(x - ref[i]));
    err.naive = std::max(err.naive, std::abs(static_cast<double>(naive[i]) - ref[i]));
    err.max_ref = std::max(err.max_ref, std::abs(ref[i]));
  }
  return err;
}

struct Summary {
  int cases = 0;
  double worst_ratio = 0, worst_kernel = 0, worst_naive = 0;
  void add(const Errors& e) {
    ++cases;
    const double r = e.kernel / e.tol();
    if (r > worst_ratio) worst_ratio = r, worst_kernel = e.kernel, worst_naive = e.naive;
  }
  void print(const char* name) const {
    std::printf("[summary] %-28s cases=%4d worst err/tol=%.3f (err %.3g, naive bf16 err %.3g)\n", name, cases,
                worst_ratio, worst_kernel, worst_naive);
  }
};

void check(const Problem& pr, Kernel kernel, int num_splits, const std::vector<double>& ref,
           const std::vector<float>& naive, Summary& summary) {
  const Errors e = run_kernel(pr, kernel, num_splits, ref, naive);
  summary.add(e);
  EXPECT_LE(e.kernel, e.tol()) << (kernel == Kernel::kDecode ? "decode splits=" + std::to_string(num_splits)
                                   : kernel == Kernel::kPrefillSm90Tma || kernel == Kernel::kPrefillSm90TmaTraced
                                       ? std::string(kernel_name(kernel)) + " schedule=" + std::to_string(num_splits)
                                                                       : std::string(kernel_name(kernel)))
                               << " err " << e.kernel << " naive bf16 err " << e.naive << " " << pr.c.describe();
}

// A mixed batch around policy `pol`: a prompt chunk of `chunk` tokens at a random offset, a decode
// token, a chunk crossing the prompt/generated boundary (one query tile with both phases), and a
// short prompt read from position 0.
Case mixed_case(const Policy& pol, int chunk, int variant, std::mt19937_64& rng) {
  Case c;
  c.policy = pol;
  static const int kDims[] = {128, 64};
  static const int kGqa[] = {1, 4, 8};
  static const int kBlock[] = {16, 5, 64, 1, 32};
  c.head_dim = kDims[variant % 2];
  c.gqa = kGqa[variant % 3];
  c.num_kv_heads = c.gqa == 8 ? 1 : 2;
  c.block_size = kBlock[variant % 5];
  c.sink_offset = variant % 2 == 0;
  c.release = variant % 3 != 1;
  c.seed = rng();
  auto rnd = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const int P0 = rnd(std::max(chunk, 150), 600);
  c.seqs.push_back({P0, rnd(0, P0 - chunk), chunk});
  const int P1 = rnd(100, 500);
  c.seqs.push_back({P1, P1 + rnd(0, 20), 1});
  const int P2 = rnd(150, 450);
  const int n2 = rnd(60, 200);
  c.seqs.push_back({P2, P2 - rnd(1, n2 - 1), n2});
  c.seqs.push_back({rnd(1, 40), 0, rnd(1, 40)});
  return c;
}

// A short window with sinks far from it (the paper kernel's bug): four sequences whose prefill and
// decode rows start at, inside and past the window, GQA 4, V of the sinks offset.
Case short_window_case(int W, int S, uint64_t seed) {
  Case c;
  c.policy = {true, W, S, false};
  c.gqa = 4;
  c.sink_offset = true;
  c.seed = seed;
  c.seqs = {{1000, 700, 1}, {1000, 900, 100}, {300, 300, 1}, {1000, 513, 128}};
  return c;
}

TEST(AttentionKernels, ParamsValidation) {
  cuda::AttentionParams p;
  p.num_seqs = 1;
  p.num_tokens = 1;
  p.num_heads = 8;
  p.num_kv_heads = 3;
  p.head_dim = 128;
  EXPECT_NE(cuda::attention_prefill(p, nullptr).find("num_heads"), std::string::npos);
  p.num_kv_heads = 2;
  p.head_dim = 96;
  EXPECT_NE(cuda::attention_prefill(p, nullptr).find("head_dim"), std::string::npos);
  p.head_dim = 64;
  p.block_size = 16;
  p.max_blocks = 1;
  p.softmax_scale = 0.125f;
  EXPECT_NE(cuda::attention_decode(p, 1, nullptr, nullptr).find("is null"), std::string::npos);
}

TEST(AttentionKernels, SweepAgainstReference) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  // W: 1, 2, below the 64-key tile, equal, above, >= every sequence length.
  // S: 0, 1, < W, > W, > tile, >= every sequence length.
  const int kW[] = {1, 2, 37, 64, 100, 1000};
  const int kChunks[] = {1, 7, 64, 128, 0};  // 0 = random
  std::mt19937_64 rng(20261128);
  Summary prefill_sum, decode_sum;
  int variant = 0;
  for (int W : kW) {
    const int kS[] = {0, 1, std::max(0, W / 2), W + 13, 80, 1000};
    for (int S : kS) {
      for (int fa = 0; fa < 2; ++fa) {
        const int v = variant++;
        if (quick() && v % 5 != 0) continue;
        int chunk = kChunks[v % 5];
        if (chunk == 0) chunk = std::uniform_int_distribution<int>(2, 300)(rng);
        const Case c = mixed_case({true, W, S, fa == 1}, chunk, v, rng);
        const Problem pr = make_problem(c);
        std::vector<double> ref;
        std::vector<float> naive;
        reference_outputs(pr, ref, naive);
        check(pr, Kernel::kPrefill, 1, ref, naive, prefill_sum);
        // The decode kernel takes any token with the per-token rule: same batch, 1..8 splits.
        check(pr, Kernel::kDecode, 1 + v % 8, ref, naive, decode_sum);
      }
    }
  }
  for (int v = 0; v < 6; ++v) {  // non-sliding layers (full causal)
    if (quick() && v % 3 != 0) continue;
    const Case c = mixed_case({false, 0, 0, false}, kChunks[v % 4], v, rng);
    const Problem pr = make_problem(c);
    std::vector<double> ref;
    std::vector<float> naive;
    reference_outputs(pr, ref, naive);
    check(pr, Kernel::kPrefill, 1, ref, naive, prefill_sum);
    check(pr, Kernel::kDecode, 1 + v, ref, naive, decode_sum);
  }
  prefill_sum.print("prefill mixed batches");
  decode_sum.print("decode kernel, mixed batches");
}

// The paper kernel's bug: with a window <= one key tile (or a window-start split of <= 2 tiles),
// sink scores used a stale K tile. Sinks far from the window, V of sinks offset by 64.
TEST(AttentionKernels, ShortWindowSinksFarAway) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  std::mt19937_64 rng(11);
  Summary prefill_sum, decode_sum;
  for (int W : {1, 2, 5, 63, 64, 65}) {
    for (int S : {1, 10, 64, 70}) {
      if (quick() && (W + S) % 3 != 0) continue;
      const Problem pr = make_problem(short_window_case(W, S, rng()));
      std::vector<double> ref;
      std::vector<float> naive;
      reference_outputs(pr, ref, naive);
      check(pr, Kernel::kPrefill, 1, ref, naive, prefill_sum);
      for (int splits : {1, 2, 3}) check(pr, Kernel::kDecode, splits, ref, naive, decode_sum);
    }
  }
  prefill_sum.print("prefill short windows");
  decode_sum.print("decode short windows");
}

// Builds case c and its references and hands them to fn(problem, ref, naive, sum).
template <class Fn>
void run_case(const Case& c, Summary& sum, Fn fn) {
  const Problem pr = make_problem(c);
  std::vector<double> ref;
  std::vector<float> naive;
  reference_outputs(pr, ref, naive);
  fn(pr, ref, naive, sum);
}

// The Hopper prefill's sweep (head dim 128): mixed batches over W, S and FA decode, full causal, and
// the short-window cases; fn(problem, ref, naive, summary) runs the kernels on each.
template <class Fn>
void sm90_sweep(Summary& mixed, Summary& short_windows, Fn fn) {
  std::mt19937_64 rng(90);
  auto run = [&](const Case& c, Summary& sum) { run_case(c, sum, fn); };
  int variant = 0;
  for (int W : {1, 37, 64, 100, 1000}) {
    for (int S : {0, 1, W + 13, 1000}) {
      for (int fa = 0; fa < 2; ++fa) {
        const int v = variant++;
        if (quick() && v % 5 != 0) continue;
        Case c = mixed_case({true, W, S, fa == 1}, v % 3 == 0 ? 128 : 1 + v * 7 % 200, v, rng);
        c.head_dim = 128;
        run(c, mixed);
      }
    }
  }
  for (int v = 0; v < 3; ++v) {  // full causal
    Case c = mixed_case({false, 0, 0, false}, 64 + 64 * v, v, rng);
    c.head_dim = 128;
    run(c, mixed);
  }
  for (int W : {1, 5, 64, 127, 128, 129}) {  // windows around the 128-key tile, sinks far away
    for (int S : {1, 70, 128, 130}) {
      if (quick() && (W + S) % 3 != 0) continue;
      run(short_window_case(W, S, rng()), short_windows);
    }
  }
}

// The Hopper prefill (head dim 128) on its sweep, in a test of its own, so a failure names it.
TEST(AttentionKernelsSm90, PrefillAgainstReference) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  Summary mixed, short_windows;
  sm90_sweep(mixed, short_windows, [](const Problem& pr, const auto& ref, const auto& naive, Summary& sum) {
    check(pr, Kernel::kPrefillSm90, 1, ref, naive, sum);
  });
  mixed.print("prefill_sm90 mixed batches");
  short_windows.print("prefill_sm90 short windows");
}

// The TMA prefill's schedule choice (host only): persistent everywhere by default; with either
// switch off, persistent on sliding layers whose queries span more than two windows and on any layer
// with at most 8192 queries per sequence.
TEST(AttentionKernels, PrefillTmaScheduleChoice) {
  cuda::AttentionParams p;
  // The default (early setup and the TMA store on): persistent on every shape.
  for (int len : {1, 8192, 32768, 131072}) {
    p.max_seqlen_q = len;
    p.sliding = false;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPersistent) << "full causal, " << len;
    p.sliding = true, p.window = 2048;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPersistent) << "W=2048, " << len;
  }
  // Either switched off: the plain path's rule, per tile on long full-attention prompts.
  for (const char* name : {"SWAA_PREFILL_EARLY_SETUP", "SWAA_PREFILL_TMA_STORE"}) {
    ::setenv(name, "0", 1);
    p.sliding = false;
    p.max_seqlen_q = 32768;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPerTile) << name << "=0, full causal, 32k";
    p.max_seqlen_q = 8192;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPersistent) << name << "=0, full causal, 8k";
    p.max_seqlen_q = 8193;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPerTile) << name << "=0, past 8k";
    p.max_seqlen_q = 32768;
    p.sliding = true, p.window = 16384;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPerTile) << name << "=0, two windows";
    p.max_seqlen_q = 32769;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPersistent) << name << "=0, past two windows";
    p.window = 2048;
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPersistent) << name << "=0, W=2048 over 32k";
    p.window = 1 << 30;  // a window no prompt fills; 2 * window must not overflow
    EXPECT_EQ(cuda::prefill_tma_schedule(p), cuda::PrefillSchedule::kPerTile) << name << "=0, huge window";
    ::unsetenv(name);
  }
}

// The TMA kernel on the same sweep where the block size suits TMA (16, 32, 64 of
// the sweep's 16, 5, 64, 1, 32), then on the page shapes only it has: 8-key pages (one box per
// 8 rows), 128 and 256 (a tile inside one page), and consecutive blocks (one box per tile half),
// with the sequences' last pages partly past seqlen_k and released blocks NaN-poisoned; each case
// on every CTA schedule (per tile, persistent, persistent on 3 CTAs: many tiles per CTA), with the
// items prepared by the producer warp (the default) and without, and with the early setup and the
// TMA store of O switched on and off.
TEST(AttentionKernelsSm90, PrefillTmaAgainstReference) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  auto check_tma = [](const Problem& pr, const std::vector<double>& ref, const std::vector<float>& naive,
                      Summary& sum) {
    cuda::AttentionParams p;
    p.head_dim = pr.c.head_dim, p.block_size = pr.c.block_size, p.num_slots = pr.num_phys_blocks * pr.c.block_size;
    p.k_cache = p.v_cache = reinterpret_cast<const void*>(256);
    if (!cuda::prefill_tma_supported(p)) return;
    for (auto s : {cuda::PrefillSchedule::kPerTile, cuda::PrefillSchedule::kPersistent,
                   cuda::PrefillSchedule::kPersistentOn3}) {
      check(pr, Kernel::kPrefillSm90Tma, static_cast<int>(s), ref, naive, sum);
    }
    // The bench's traced instantiation: the same results, and sane records (3 CTAs: many rounds each).
    check(pr, Kernel::kPrefillSm90TmaTraced, static_cast<int>(cuda::PrefillSchedule::kPersistentOn3), ref, naive, sum);
    // Above, the default: early setup and the TMA store of O on every layer. Then each combination
    // set (SWAA_PREFILL_EARLY_SETUP, SWAA_PREFILL_TMA_STORE = 1 or 0).
    ::setenv("SWAA_PREFILL_EARLY_SETUP", "1", 1);
    ::setenv("SWAA_PREFILL_TMA_STORE", "1", 1);  // both, in the kernel whose consumers set up each item
    ::setenv("SWAA_PREFILL_PREPARED", "0", 1);
    check(pr, Kernel::kPrefillSm90Tma, static_cast<int>(cuda::PrefillSchedule::kPerTile), ref, naive, sum);
    check(pr, Kernel::kPrefillSm90Tma, static_cast<int>(cuda::PrefillSchedule::kPersistentOn3), ref, naive, sum);
    ::unsetenv("SWAA_PREFILL_PREPARED");
    check(pr, Kernel::kPrefillSm90TmaTraced, static_cast<int>(cuda::PrefillSchedule::kPersistentOn3), ref, naive, sum);
    ::setenv("SWAA_PREFILL_TMA_STORE", "0", 1);  // early setup only
    check(pr, Kernel::kPrefillSm90Tma, static_cast<int>(cuda::PrefillSchedule::kPersistentOn3), ref, naive, sum);
    check(pr, Kernel::kPrefillSm90TmaTraced, static_cast<int>(cuda::PrefillSchedule::kPersistentOn3), ref, naive, sum);
    ::setenv("SWAA_PREFILL_EARLY_SETUP", "0", 1);  // neither
    check(pr, Kernel::kPrefillSm90Tma, static_cast<int>(cuda::PrefillSchedule::kPerTile), ref, naive, sum);
    check(pr, Kernel::kPrefillSm90Tma, static_cast<int>(cuda::PrefillSchedule::kPersistentOn3), ref, naive, sum);
    check(pr, Kernel::kPrefillSm90TmaTraced, static_cast<int>(cuda::PrefillSchedule::kPersistentOn3), ref, naive, sum);
    ::setenv("SWAA_PREFILL_TMA_STORE", "1", 1);  // the TMA store only
    check(pr, Kernel::kPrefillSm90Tma, static_cast<int>(cuda::PrefillSchedule::kPerTile), ref, naive, sum);
    ::unsetenv("SWAA_PREFILL_TMA_STORE");
    ::unsetenv("SWAA_PREFILL_EARLY_SETUP");
  };
  Summary mixed, short_windows, pages;
  sm90_sweep(mixed, short_windows, check_tma);
  std::mt19937_64 rng(91);
  int v = 0;
  for (int bs : {8, 16, 128, 256}) {
    for (bool shuffle : {false, true}) {
      for (const Policy& pol : {Policy{false, 0, 0, false}, Policy{true, 100, 70, false}, Policy{true, 37, 0, true}}) {
        Case c = mixed_case(pol, v % 2 == 0 ? 128 : 200, v, rng);
        ++v;
        c.head_dim = 128, c.block_size = bs, c.shuffle = shuffle;
        run_case(c, pages, check_tma);
      }
    }
  }
  EXPECT_GT(mixed.cases, 0);
  EXPECT_GT(pages.cases, 0);
  mixed.print("prefill_sm90_tma mixed");
  short_windows.print("prefill_sm90_tma short windows");
  pages.print("prefill_sm90_tma page shapes");
}

// Split-KV edges: decode batches (one generated token per sequence) where the window start falls in
// the last 1-2 tiles of a split, for 1..N splits, with and without FA decode.
TEST(AttentionKernels, DecodeSplitEdges) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  std::mt19937_64 rng(5);
  Summary sum;
  int variant = 0;
  for (int W : {40, 64, 130, 300, 2000}) {
    for (int S : {0, 7, 100}) {
      for (int fa = 0; fa < 2; ++fa) {
        const int v = variant++;
        if (quick() && v % 4 != 0) continue;
        Case c;
        c.policy = {true, W, S, fa == 1};
        c.head_dim = v % 2 ? 64 : 128;
        c.gqa = v % 3 == 0 ? 8 : 4;
        c.num_kv_heads = 2;
        c.block_size = 16;
        c.sink_offset = true;
        c.seed = rng();
        // Queries at p with the window start (p - W + 1) at 64*k - 1, 64*k - 40, ...: across splits
        // of 1..8 these land in the last one or two tiles of some split.
        for (int k : {3, 5, 8, 12, 20}) {
          const int wb = std::max(0, 64 * k - (k % 2 ? 1 : 40));
          const int p = wb + W - 1;
          c.seqs.push_back({std::max(1, p - 3), p, 1});
        }
        const Problem pr = make_problem(c);
        std::vector<double> ref;
        std::vector<float> naive;
        reference_outputs(pr, ref, naive);
        for (int splits = 1; splits <= 8; ++splits) {
          if (quick() && splits % 3 != 1) continue;
          check(pr, Kernel::kDecode, splits, ref, naive, sum);
        }
      }
    }
  }
  sum.print("decode split edges");
}

// More splits than the combine kernel loads at once (8): 9, 33 and 70 splits, some left empty (more
// splits than tiles), on a batch of decode tokens (GQA 4, FA decode over up to 4101 keys) and on a
// mixed batch (prompt chunks: the decode prologue's sequence lookup falls back to its search).
TEST(AttentionKernels, DecodeManySplits) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  std::mt19937_64 rng(11);
  Case dec;
  dec.policy = {true, 300, 20, true};
  dec.gqa = 4;
  dec.num_kv_heads = 2;
  dec.sink_offset = true;
  dec.seed = rng();
  for (int len : {2000, 4100, 90, 3000}) dec.seqs.push_back({len, len, 1});
  const Case mixed = mixed_case({true, 100, 7, false}, 64, 2, rng);
  Summary sum;
  for (const Case& c : {dec, mixed}) {
    const Problem pr = make_problem(c);
    std::vector<double> ref;
    std::vector<float> naive;
    reference_outputs(pr, ref, naive);
    for (int splits : {9, 33, 70}) check(pr, Kernel::kDecode, splits, ref, naive, sum);
  }
  sum.print("decode many splits");
}

}  // namespace
}  // namespace swaa
