// SWAA training attention kernels (kernels/cuda/swaa_attention_train.h): forward out/lse and backward
// dQ/dK/dV against the fp64 reference (tests/reference/attention_train_reference.h) over SWAA.md §5's
// sweep adapted to training: W and S around the 64-row tile, fa_decode on/off, non-sliding, GQA
// 1/4/8, head dims 64/128, varlen batches with prompt lengths 0, full and random, V of the sink rows
// offset by 64 in some cases, and the short-window/far-sinks shape of the paper's stale-tile bug.
// SWAA_KERNEL_TEST_QUICK=1 runs every 5th case (for compute-sanitizer). Label: cuda.
//
// Tolerance rule, per tensor (out, lse, dq, dk, dv), FlashAttention's: the reference is computed in
// fp64 on the same bf16-rounded inputs the kernel reads, and
//   max |kernel - ref| <= 2 * max |naive - ref| + 1e-4 * max |ref|
// where `naive` is a plain same-precision implementation computed here (bf16 inputs, fp32 dot
// products, S, P, O, dP and dS rounded to bf16, outputs rounded to bf16), i.e. what eager bf16
// autograd of softmax(Q K^T) V would give.
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
#include "reference/attention_train_reference.h"
#include "kernels/kernel_test_util.h"
#include "reference/reference_model.h"
#include "swaa_attention_train.h"

namespace swaa {
namespace {

using namespace kernel_test;

struct Policy {
  bool sliding = true;
  int W = 0, S = 0;
  bool fa_decode = false;
};

struct SeqSpec {
  int len;
  int prompt_len;  // rows [prompt_len, len) are answer rows
};

struct Case {
  Policy policy;
  int head_dim = 128, num_kv_heads = 2, gqa = 4;
  std::vector<SeqSpec> seqs;
  bool sink_offset = false;  // add 64 to V of sink rows so sink errors show
  uint64_t seed = 0;
  std::string describe() const {
    std::string s = "W=" + std::to_string(policy.W) + " S=" + std::to_string(policy.S) +
                    " sliding=" + std::to_string(policy.sliding) + " fa_decode=" + std::to_string(policy.fa_decode) +
                    " D=" + std::to_string(head_dim) + " kv_heads=" + std::to_string(num_kv_heads) +
                    " gqa=" + std::to_string(gqa) + " sink_offset=" + std::to_string(sink_offset) +
                    " seed=" + std::to_string(seed) + " seqs=";
    for (const SeqSpec& q : seqs) s += "[len=" + std::to_string(q.len) + " P=" + std::to_string(q.prompt_len) + "]";
    return s;
  }
};

// Inputs (bf16-exact floats) and the fp64 reference and naive bf16 results of one case.
struct Problem {
  Case c;
  reference::TrainBatch batch;
  std::vector<float> q, k, v, dout;  // [N, H, D], [N, KH, D], [N, KH, D], [N, H, D]
  reference::TrainForward ref_fwd;
  reference::TrainGrads ref_grads;
  std::vector<float> naive_out, naive_lse, naive_dq, naive_dk, naive_dv;
};

reference::TrainBatch make_batch(const Case& c) {
  reference::TrainBatch b;
  b.cu_seqlens = {0};
  for (const SeqSpec& s : c.seqs) {
    b.cu_seqlens.push_back(b.cu_seqlens.back() + s.len);
    b.prompt_lens.push_back(s.prompt_len);
  }
  b.num_heads = c.num_kv_heads * c.gqa;
  b.num_kv_heads = c.num_kv_heads;
  b.head_dim = c.head_dim;
  b.softmax_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(c.head_dim)));  // as the kernel gets it
  if (c.policy.sliding) b.swaa.sliding_window_size = c.policy.W;
  b.swaa.keep_first = c.policy.S;
  b.swaa.force_fa_decode_all = c.policy.fa_decode;
  return b;
}

// The naive bf16 implementation of the tolerance rule (see the file comment), one (sequence, head)
// at a time; dk/dv accumulate over the head group in fp32 and are rounded by the caller.
void naive_head(Problem& pr, int seq, int head, std::vector<float>& dk_acc, std::vector<float>& dv_acc) {
  const reference::TrainBatch& b = pr.batch;
  const int H = b.num_heads, KH = b.num_kv_heads, D = b.head_dim, N = b.num_tokens();
  const int begin = b.cu_seqlens[seq], T = b.cu_seqlens[seq + 1] - begin, kh = head / (H / KH);
  const float scale = static_cast<float>(b.softmax_scale);
  auto qr = [&](int i) { return &pr.q[(static_cast<size_t>(begin + i) * H + head) * D]; };
  auto dor = [&](int i) { return &pr.dout[(static_cast<size_t>(begin + i) * H + head) * D]; };
  auto kvi = [&](int j) { return (static_cast<size_t>(begin + j) * KH + kh) * D; };
  auto dot = [D](const float* a, const float* x) {
    float s = 0;
    for (int d = 0; d < D; ++d) s += a[d] * x[d];
    return s;
  };
  std::vector<float> p(T), dp(T), o(D);
  for (int i = 0; i < T; ++i) {
    float mx = -INFINITY;
    for (int j = 0; j < T; ++j) {
      p[j] = -INFINITY;
      if (reference::visible(b.swaa, 0, i, j, b.prompt_lens[seq])) {
        p[j] = bf16_round(bf16_round(dot(qr(i), &pr.k[kvi(j)])) * scale);
        mx = std::max(mx, p[j]);
      }
    }
    float den = 0;
    for (int j = 0; j < T; ++j) den += (p[j] = std::isinf(p[j]) ? 0.f : std::exp(p[j] - mx));
    pr.naive_lse[static_cast<size_t>(head) * N + begin + i] = mx + std::log(den);
    std::fill(o.begin(), o.end(), 0.f);
    for (int j = 0; j < T; ++j) {
      p[j] = bf16_round(p[j] / den);
      for (int d = 0; d < D; ++d) o[d] += p[j] * pr.v[kvi(j) + d];
    }
    float row_dot = 0;  // D_i = dO_i . O_i with O in bf16
    float* out = &pr.naive_out[(static_cast<size_t>(begin + i) * H + head) * D];
    for (int d = 0; d < D; ++d) {
      out[d] = bf16_round(o[d]);
      row_dot += dor(i)[d] * out[d];
    }
    std::vector<float> dq(D, 0.f);
    for (int j = 0; j < T; ++j) {
      if (p[j] == 0.f) continue;
      dp[j] = bf16_round(dot(dor(i), &pr.v[kvi(j)]));
      const float ds = bf16_round(p[j] * (dp[j] - row_dot));
      for (int d = 0; d < D; ++d) {
        dq[d] += ds * pr.k[kvi(j) + d];
        dk_acc[kvi(j) + d] += ds * qr(i)[d] * scale;
        dv_acc[kvi(j) + d] += p[j] * dor(i)[d];
      }
    }
    float* dqo = &pr.naive_dq[(static_cast<size_t>(begin + i) * H + head) * D];
    for (int d = 0; d < D; ++d) dqo[d] = bf16_round(dq[d] * scale);
  }
}

std::vector<double> to_double(const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); }

Problem make_problem(const Case& c) {
  Problem pr;
  pr.c = c;
  pr.batch = make_batch(c);
  const reference::TrainBatch& b = pr.batch;
  const int N = b.num_tokens(), H = b.num_heads, KH = b.num_kv_heads, D = b.head_dim;
  std::mt19937_64 rng(c.seed);
  std::normal_distribution<float> normal;
  pr.q.resize(static_cast<size_t>(N) * H * D);
  pr.dout.resize(pr.q.size());
  pr.k.resize(static_cast<size_t>(N) * KH * D);
  pr.v.resize(pr.k.size());
  for (float& x : pr.q) x = bf16_round(1.5f * normal(rng));
  for (float& x : pr.k) x = bf16_round(1.5f * normal(rng));
  for (float& x : pr.v) x = bf16_round(normal(rng));
  for (float& x : pr.dout) x = bf16_round(normal(rng));
  if (c.sink_offset) {
    for (size_t s = 0; s < c.seqs.size(); ++s) {
      for (int t = 0; t < std::min(c.policy.S, c.seqs[s].len); ++t) {
        float* row = &pr.v[static_cast<size_t>(b.cu_seqlens[s] + t) * KH * D];
        for (int i = 0; i < KH * D; ++i) row[i] = bf16_round(row[i] + 64.f);
      }
    }
  }
  const std::vector<double> q = to_double(pr.q), k = to_double(pr.k), v = to_double(pr.v);
  pr.ref_fwd = reference::train_attention_forward(b, q, k, v);
  pr.ref_grads = reference::train_attention_backward(b, q, k, v, to_double(pr.dout));

  pr.naive_out.assign(pr.q.size(), 0.f);
  pr.naive_dq.assign(pr.q.size(), 0.f);
  pr.naive_lse.assign(static_cast<size_t>(H) * N, 0.f);
  std::vector<float> dk(pr.k.size(), 0.f), dv(pr.k.size(), 0.f);
  for (int s = 0; s < b.num_seqs(); ++s) {
    for (int h = 0; h < H; ++h) naive_head(pr, s, h, dk, dv);
  }
  pr.naive_dk.resize(dk.size());
  pr.naive_dv.resize(dv.size());
  for (size_t i = 0; i < dk.size(); ++i) pr.naive_dk[i] = bf16_round(dk[i]), pr.naive_dv[i] = bf16_round(dv[i]);
  return pr;
}

// Compares one tensor; a non-finite (or unwritten, NaN-sentinel) kernel value fails with its index.
Errors compare(const char* name, const std::vector<float>& got, const std::vector<float>& naive,
               const std::vector<double>& ref, const Case& c) {
  Errors e;
  EXPECT_EQ(got.size(), ref.size()) << name << " " << c.describe();
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    if (!std::isfinite(got[i])) {
      if (std::isfinite(e.kernel)) ADD_FAILURE() << name << ": non-finite or unwritten at index " << i << " " << c.describe();
      e.kernel = INFINITY;
      continue;
    }
    e.kernel = std::max(e.kernel, std::abs(got[i] - ref[i]));
    e.naive = std::max(e.naive, std::abs(naive[i] - ref[i]));
    e.max_ref = std::max(e.max_ref, std::abs(ref[i]));
  }
  EXPECT_LE(e.kernel, e.tol()) << name << " err " << e.kernel << " naive bf16 err " << e.naive << " max|ref| "
                               << e.max_ref << " " << c.describe();
  return e;
}

std::vector<float> bf16_to_floats(const std::vector<uint16_t>& x) {
  std::vector<float> f(x.size());
  for (size_t i = 0; i < x.size(); ++i) f[i] = bf16_to_f32(x[i]);
  return f;
}
std::vector<uint16_t> floats_to_bf16(const std::vector<float>& x) {
  std::vector<uint16_t> h(x.size());
  for (size_t i = 0; i < x.size(); ++i) h[i] = f32_to_bf16(x[i]);
  return h;
}

std::string sync_error() {
  const cudaError_t e = cudaDeviceSynchronize();
  return e == cudaSuccess ? "" : cudaGetErrorString(e);
}

struct Summary {
  static constexpr int kTensors = 5;
  const char* names[kTensors] = {"out", "lse", "dq", "dk", "dv"};
  int cases = 0;
  double worst[kTensors] = {};
  void add(int t, const Errors& e) { worst[t] = std::max(worst[t], e.kernel / e.tol()); }
  void print(const char* label) const {
    std::printf("[summary] %-22s cases=%3d worst err/tol:", label, cases);
    for (int t = 0; t < kTensors; ++t) std::printf(" %s %.3f", names[t], worst[t]);
    std::printf("\n");
  }
};

// Runs forward then backward (on the kernel's own out and lse, as in training) and checks all five.
void run_and_check(const Problem& pr, Summary& sum, int sink_splits = 1) {
  const Case& c = pr.c;
  const reference::TrainBatch& b = pr.batch;
  const int N = b.num_tokens(), H = b.num_heads;
  DeviceBuffer<uint16_t> d_q(floats_to_bf16(pr.q)), d_k(floats_to_bf16(pr.k)), d_v(floats_to_bf16(pr.v));
  DeviceBuffer<uint16_t> d_do(floats_to_bf16(pr.dout));
  DeviceBuffer<uint16_t> d_out(std::vector<uint16_t>(pr.q.size(), kNaNBf16)), d_dq(d_out.download());
  DeviceBuffer<uint16_t> d_dk(std::vector<uint16_t>(pr.k.size(), kNaNBf16)), d_dv(d_dk.download());
  DeviceBuffer<float> d_lse(std::vector<float>(static_cast<size_t>(H) * N, NAN));
  DeviceBuffer<int> d_cu(b.cu_seqlens), d_prompt(b.prompt_lens);
  cuda::TrainAttentionParams p;
  p.q = d_q.ptr;
  p.k = d_k.ptr;
  p.v = d_v.ptr;
  p.out = d_out.ptr;
  p.lse = d_lse.ptr;
  p.dout = d_do.ptr;
  p.dq = d_dq.ptr;
  p.dk = d_dk.ptr;
  p.dv = d_dv.ptr;
  p.cu_seqlens = d_cu.ptr;
  p.prompt_lens = d_prompt.ptr;
  p.num_seqs = b.num_seqs();
  p.num_tokens = N;
  for (const SeqSpec& s : c.seqs) p.max_seqlen = std::max(p.max_seqlen, s.len);
  p.num_heads = H;
  p.num_kv_heads = b.num_kv_heads;
  p.head_dim = b.head_dim;
  p.sliding = c.policy.sliding;
  p.window = c.policy.W;
  p.keep_first = c.policy.S;
  p.fa_decode = c.policy.fa_decode;
  p.softmax_scale = static_cast<float>(b.softmax_scale);
  p.sink_splits = sink_splits;

  std::string msg = cuda::attention_train_forward(p, nullptr);
  if (msg.empty()) msg = sync_error();
  ASSERT_EQ(msg, "") << "forward: " << c.describe() << " sink_splits " << sink_splits;
  DeviceBuffer<unsigned char> ws(cuda::train_backward_workspace_bytes(p));
  msg = cuda::attention_train_backward(p, ws.ptr, nullptr);
  if (msg.empty()) msg = sync_error();
  ASSERT_EQ(msg, "") << "backward: " << c.describe() << " sink_splits " << sink_splits;

  ++sum.cases;
  sum.add(0, compare("out", bf16_to_floats(d_out.download()), pr.naive_out, pr.ref_fwd.out, c));
  sum.add(1, compare("lse", d_lse.download(), pr.naive_lse, pr.ref_fwd.lse, c));
  sum.add(2, compare("dq", bf16_to_floats(d_dq.download()), pr.naive_dq, pr.ref_grads.dq, c));
  sum.add(3, compare("dk", bf16_to_floats(d_dk.download()), pr.naive_dk, pr.ref_grads.dk, c));
  sum.add(4, compare("dv", bf16_to_floats(d_dv.download()), pr.naive_dv, pr.ref_grads.dv, c));
}

// A varlen batch: lengths 1, 7, 64 and 200 (and 1000 in every 4th variant) in random order, with
// prompt lengths 0, full and random in [1, len - 1] rotating over the sequences.
Case sweep_case(const Policy& pol, int variant, std::mt19937_64& rng) {
  static const int kDims[] = {128, 64};
  static const int kGqa[] = {1, 4, 8};
  Case c;
  c.policy = pol;
  c.head_dim = kDims[variant % 2];
  c.gqa = kGqa[variant % 3];
  c.num_kv_heads = c.gqa == 8 ? 1 : 2;
  c.sink_offset = variant % 2 == 0;
  c.seed = rng();
  std::vector<int> lens = {1, 7, 64, 200};
  if (variant % 4 == 0) lens.push_back(1000);
  std::shuffle(lens.begin(), lens.end(), rng);
  for (size_t i = 0; i < lens.size(); ++i) {
    const int len = lens[i];
    const int kind = static_cast<int>(variant + i) % 3;
    const int prompt = kind == 0 ? 0 : kind == 1 ? len : std::uniform_int_distribution<int>(1, std::max(1, len - 1))(rng);
    c.seqs.push_back({len, prompt});
  }
  return c;
}

TEST(AttentionTrainKernels, ParamsValidation) {
  cuda::TrainAttentionParams p;
  p.num_seqs = 1;
  p.num_tokens = 4;
  p.max_seqlen = 4;
  p.num_heads = 8;
  p.num_kv_heads = 3;
  p.head_dim = 128;
  p.softmax_scale = 0.125f;
  EXPECT_NE(cuda::attention_train_forward(p, nullptr).find("num_heads"), std::string::npos);
  p.num_kv_heads = 2;
  p.head_dim = 96;
  EXPECT_NE(cuda::attention_train_forward(p, nullptr).find("head_dim"), std::string::npos);
  p.head_dim = 64;
  p.sliding = true;
  EXPECT_NE(cuda::attention_train_forward(p, nullptr).find("window"), std::string::npos);
  p.window = 16;
  p.sink_splits = 33;
  EXPECT_NE(cuda::attention_train_forward(p, nullptr).find("sink_splits"), std::string::npos);
  p.sink_splits = 1;
  EXPECT_NE(cuda::attention_train_forward(p, nullptr).find("q is null"), std::string::npos);
  alignas(16) static unsigned char dummy[64];
  p.q = p.k = p.v = p.out = dummy;
  p.lse = reinterpret_cast<float*>(dummy);
  p.cu_seqlens = p.prompt_lens = reinterpret_cast<const int*>(dummy);
  p.k = dummy + 2;
  EXPECT_NE(cuda::attention_train_forward(p, nullptr).find("k must be 16-byte aligned"), std::string::npos);
  p.k = dummy;
  EXPECT_NE(cuda::attention_train_backward(p, nullptr, nullptr).find("dout is null"), std::string::npos);
}

TEST(AttentionTrainKernels, SweepAgainstReference) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  // W: 1, 2, tile - 1, tile, tile + 1, >= every length. S: 0, 1, < W, > W, > tile, >= every length.
  const int kW[] = {1, 2, 63, 64, 65, 2000};
  std::mt19937_64 rng(20261201);
  Summary sum, split_sum;
  int variant = 0;
  for (int W : kW) {
    const int kS[] = {0, 1, std::max(0, W / 2), W + 13, 80, 2000};
    for (int S : kS) {
      for (int fa = 0; fa < 2; ++fa) {
        const int v = variant++;
        const Case c = sweep_case({true, W, S, fa == 1}, v, rng);
        if (quick() && v % 5 != 0) continue;
        const Problem pr = make_problem(c);
        run_and_check(pr, sum);
        if (S > 0 && v % 3 == 0) run_and_check(pr, split_sum, 3);  // sink tiles' walks split over 3 CTAs
      }
    }
  }
  for (int v = 0; v < 6; ++v) {  // non-sliding layers (full causal; S must not matter)
    const Case c = sweep_case({false, 0, v % 2 ? 0 : 30, false}, v, rng);
    if (quick() && v % 3 != 0) continue;
    run_and_check(make_problem(c), sum);
  }
  sum.print("training sweep");
  split_sum.print("sweep, sink splits 3");
}

// The paper kernel's bug shape: a window <= one tile, sinks far from it (V of sinks offset by 64),
// long sequences whose rows all gather from the sink tiles.
TEST(AttentionTrainKernels, ShortWindowSinksFarAway) {
  ASSERT_TRUE(have_gpu()) << "no CUDA device: this test cannot run here (label cuda)";
  std::mt19937_64 rng(11);
  Summary sum, split_auto, split_7;
  for (int W : {1, 2, 5, 63, 64, 65}) {
    for (int S : {1, 10, 64, 70}) {
      Case c;
      c.policy = {true, W, S, (W + S) % 2 == 0};
      c.head_dim = W % 2 ? 128 : 64;
      c.num_kv_heads = 1;
      c.gqa = 4;
      c.sink_offset = true;
      c.seed = rng();
      c.seqs = {{1000, 600}, {300, 300}, {130, 0}};
      if (quick() && (W + S) % 3 != 0) continue;
      const Problem pr = make_problem(c);
      run_and_check(pr, sum);
      run_and_check(pr, split_auto, 0);  // automatic split of the sink tiles' walks
      run_and_check(pr, split_7, 7);
    }
  }
  sum.print("short windows");
  split_auto.print("short windows, splits auto");
  split_7.print("short windows, splits 7");
}

}  // namespace
}  // namespace swaa
