// The CUDA backend's decode GEMV and fused elementwise kernels (label cuda) against fp64 loops over
// the same bf16 inputs: gemv for every row count up to kGemvMaxRows, odd feature counts, both
// output types and every split of a row over warps (k up to 9728); gemv_many (q, k, v in one launch,
// biases) against fp64; gemv_swiglu bit for bit against gemv, add_bias and silu_mul; split_columns
// and silu_mul_stacked (one GEMM over stacked weights) bit for bit against copies and silu_mul;
// add_rms_norm and qk_norm_rope_kv_write (head dims 64, 128) against the unfused
// definitions; argmax_rows against std::max_element; the Hopper prefill's wgmma products
// (wgmma_check) against fp64.
// Tolerances: fp32 accumulation over k terms, then one bf16 rounding of the output (2^-8 relative)
// for bf16 outputs.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "ops.h"
#include "swaa_attention.h"

namespace swaa {
namespace {

std::vector<uint16_t> random_bf16(size_t n, std::mt19937& rng, float scale = 1.f) {
  std::normal_distribution<float> d(0.f, scale);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = f32_to_bf16(d(rng));
  return v;
}

template <typename T>
T* to_device(const std::vector<T>& h) {
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, std::max<size_t>(h.size() * sizeof(T), 16)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> to_host(const void* d, size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

// fp64 x @ w^T (+ bias) for row j, feature r, and the tolerance of an fp32 sum of k products
// (k * 2^-24 * sum|p|, rounded up) rounded to bf16 (2^-8 relative; twice with a bias: before and
// after adding it) or kept in fp32.
struct Dot {
  double ref, tol;
};
Dot dot64(const std::vector<uint16_t>& x, const std::vector<uint16_t>& w, const std::vector<uint16_t>* bias, int j,
          int r, int k, bool f32) {
  double ref = 0, mag = 0;
  for (int c = 0; c < k; ++c) {
    const double p = static_cast<double>(bf16_to_f32(x[static_cast<size_t>(j) * k + c])) *
                     bf16_to_f32(w[static_cast<size_t>(r) * k + c]);
    ref += p;
    mag += std::abs(p);
  }
  const double b = bias != nullptr ? bf16_to_f32((*bias)[r]) : 0.0;
  const double roundings = f32 ? 0 : (bias != nullptr ? 2 : 1);
  return {ref + b, 1e-7 * k * mag + roundings * (std::abs(ref) + std::abs(b)) / 256 + 1e-6};
}

TEST(Gemv, MatchesFp64ForEveryRowCount) {
  std::mt19937 rng(1);
  for (int k : {8, 2560, 4104, 9728}) {
    for (int m : {1, 13, 1029}) {
      const auto x = random_bf16(static_cast<size_t>(cuda::kGemvMaxRows) * k, rng);
      const auto w = random_bf16(static_cast<size_t>(m) * k, rng, 0.05f);
      uint16_t* dx = to_device(x);
      uint16_t* dw = to_device(w);
      void* dout = nullptr;
      ASSERT_EQ(cudaMalloc(&dout, static_cast<size_t>(cuda::kGemvMaxRows) * m * 4), cudaSuccess);
      for (int n = 1; n <= cuda::kGemvMaxRows; ++n) {
        for (bool f32 : {true, false}) {
          ASSERT_TRUE(cuda::gemv_supported(dx, dw, n, k));
          ASSERT_EQ(cuda::gemv(dx, dw, n, k, m, dout, f32, nullptr), "");
          ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
          const auto of = f32 ? to_host<float>(dout, static_cast<size_t>(n) * m) : std::vector<float>{};
          const auto ob = f32 ? std::vector<uint16_t>{} : to_host<uint16_t>(dout, static_cast<size_t>(n) * m);
          double worst = 0;
          for (int j = 0; j < n; ++j) {
            for (int r = 0; r < m; ++r) {
              const Dot d = dot64(x, w, nullptr, j, r, k, f32);
              const double got = f32 ? of[static_cast<size_t>(j) * m + r] : bf16_to_f32(ob[static_cast<size_t>(j) * m + r]);
              worst = std::max(worst, std::abs(got - d.ref) / d.tol);
            }
          }
          EXPECT_LE(worst, 1.0) << "n " << n << " k " << k << " m " << m << " f32 " << f32;
        }
      }
      cudaFree(dx);
      cudaFree(dw);
      cudaFree(dout);
    }
  }
  EXPECT_FALSE(cuda::gemv_supported(nullptr, nullptr, cuda::kGemvMaxRows + 1, 8));
  EXPECT_NE(cuda::gemv(nullptr, nullptr, 1, 12, 4, nullptr, true, nullptr), "");  // k % 8 != 0
}

TEST(Gemv, ManyMatricesInOneLaunchWithBiases) {
  std::mt19937 rng(4);
  const int k = 2560;
  // q, k, v of a small GQA layer: few features (rows split over warps), CTAs straddling two matrices.
  const int ms[3] = {514, 130, 130};
  const auto x = random_bf16(static_cast<size_t>(cuda::kGemvMaxRows) * k, rng);
  std::vector<std::vector<uint16_t>> w, b;
  for (int i = 0; i < 3; ++i) {
    w.push_back(random_bf16(static_cast<size_t>(ms[i]) * k, rng, 0.05f));
    b.push_back(random_bf16(ms[i], rng));
  }
  uint16_t* dx = to_device(x);
  std::vector<void*> owned = {dx};
  cuda::GemvOutput outs[3];
  for (int i = 0; i < 3; ++i) {
    void* dout = nullptr;
    ASSERT_EQ(cudaMalloc(&dout, static_cast<size_t>(cuda::kGemvMaxRows) * ms[i] * 4), cudaSuccess);
    outs[i] = {to_device(w[i]), i == 1 ? nullptr : to_device(b[i]), dout, ms[i]};  // k without a bias
    owned.insert(owned.end(), {const_cast<void*>(outs[i].w), const_cast<void*>(outs[i].bias), dout});
  }
  for (int n : {1, 3, 8}) {
    for (bool f32 : {true, false}) {
      ASSERT_EQ(cuda::gemv_many(dx, n, k, outs, 3, f32, nullptr), "");
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      for (int i = 0; i < 3; ++i) {
        const size_t count = static_cast<size_t>(n) * ms[i];
        const auto of = f32 ? to_host<float>(outs[i].out, count) : std::vector<float>{};
        const auto ob = f32 ? std::vector<uint16_t>{} : to_host<uint16_t>(outs[i].out, count);
        double worst = 0;
        for (int j = 0; j < n; ++j) {
          for (int r = 0; r < ms[i]; ++r) {
            const Dot d = dot64(x, w[i], i == 1 ? nullptr : &b[i], j, r, k, f32);
            const size_t at = static_cast<size_t>(j) * ms[i] + r;
            const double got = f32 ? of[at] : bf16_to_f32(ob[at]);
            worst = std::max(worst, std::abs(got - d.ref) / d.tol);
          }
        }
        EXPECT_LE(worst, 1.0) << "matrix " << i << " n " << n << " f32 " << f32;
      }
    }
  }
  EXPECT_NE(cuda::gemv_many(dx, 1, k, outs, 4, false, nullptr), "");
  for (void* p : owned) cudaFree(p);
}

TEST(Gemv, SwigluEqualsGemvBiasThenSiluMul) {
  std::mt19937 rng(5);
  for (int k : {2560, 9728}) {
    const int m = 1029;
    const auto x = random_bf16(static_cast<size_t>(cuda::kGemvMaxRows) * k, rng);
    const auto wg = random_bf16(static_cast<size_t>(m) * k, rng, 0.05f), wu = random_bf16(static_cast<size_t>(m) * k, rng, 0.05f);
    const auto bg = random_bf16(m, rng), bu = random_bf16(m, rng);
    uint16_t *dx = to_device(x), *dwg = to_device(wg), *dwu = to_device(wu), *dbg = to_device(bg), *dbu = to_device(bu);
    const std::vector<uint16_t> zeros(static_cast<size_t>(cuda::kGemvMaxRows) * m, 0);
    uint16_t *dg = to_device(zeros), *du = to_device(zeros), *dfused = to_device(zeros);
    for (bool biased : {false, true}) {
      for (int n : {1, 2, 5, 8}) {
        const void* gb = biased ? dbg : nullptr;
        const void* ub = biased ? dbu : nullptr;
        ASSERT_EQ(cuda::gemv_swiglu(dx, n, k, m, dwg, gb, dwu, ub, dfused, nullptr), "");
        ASSERT_EQ(cuda::gemv(dx, dwg, n, k, m, dg, false, nullptr), "");
        ASSERT_EQ(cuda::gemv(dx, dwu, n, k, m, du, false, nullptr), "");
        if (biased) {
          ASSERT_EQ(cuda::add_bias(dg, false, dbg, n, m, nullptr), "");
          ASSERT_EQ(cuda::add_bias(du, false, dbu, n, m, nullptr), "");
        }
        ASSERT_EQ(cuda::silu_mul(dg, du, dg, static_cast<int64_t>(n) * m, nullptr), "");
        const auto fused = to_host<uint16_t>(dfused, static_cast<size_t>(n) * m);
        const auto unfused = to_host<uint16_t>(dg, static_cast<size_t>(n) * m);
        int differ = 0;
        for (size_t i = 0; i < fused.size(); ++i) differ += fused[i] != unfused[i];
        EXPECT_EQ(differ, 0) << "k " << k << " n " << n << " biased " << biased;
        // And the value itself: silu(g) * u from fp64 dot products, within the bf16 roundings.
        for (int r = 0; r < m; r += 97) {
          const Dot g = dot64(x, wg, biased ? &bg : nullptr, n - 1, r, k, false);
          const Dot u = dot64(x, wu, biased ? &bu : nullptr, n - 1, r, k, false);
          const double want = g.ref / (1 + std::exp(-g.ref)) * u.ref;
          const double got = bf16_to_f32(fused[static_cast<size_t>(n - 1) * m + r]);
          EXPECT_NEAR(got, want, 2 * (g.tol * std::abs(u.ref) + u.tol * std::abs(g.ref)) + std::abs(want) / 64 + 1e-4)
              << "k " << k << " n " << n << " r " << r;
        }
      }
    }
    for (void* p : {static_cast<void*>(dx), static_cast<void*>(dwg), static_cast<void*>(dwu), static_cast<void*>(dbg),
                    static_cast<void*>(dbu), static_cast<void*>(dg), static_cast<void*>(du), static_cast<void*>(dfused)}) {
      cudaFree(p);
    }
  }
}

// split_columns copies each output's column range exactly; silu_mul_stacked is silu_mul on the two
// halves bit for bit; both reject widths that are not multiples of 8.
TEST(StackedProjections, SplitColumnsAndSiluMulStacked) {
  std::mt19937 rng(17);
  const int rows = 37;
  const std::vector<int> widths = {4096, 1024, 1024};
  const int total = 6144;
  const auto src = random_bf16(static_cast<size_t>(rows) * total, rng);
  uint16_t* d_src = to_device(src);
  std::vector<uint16_t*> d_out;
  std::vector<cuda::ColumnSplit> splits;
  for (int w : widths) {
    d_out.push_back(to_device(std::vector<uint16_t>(static_cast<size_t>(rows) * w, 0)));
    splits.push_back({d_out.back(), w});
  }
  ASSERT_EQ(cuda::split_columns(d_src, rows, total, splits.data(), 3, nullptr), "");
  int begin = 0;
  for (size_t k = 0; k < widths.size(); ++k) {
    const auto got = to_host<uint16_t>(d_out[k], static_cast<size_t>(rows) * widths[k]);
    int differ = 0;
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < widths[k]; ++c) {
        differ += got[static_cast<size_t>(r) * widths[k] + c] != src[static_cast<size_t>(r) * total + begin + c];
      }
    }
    EXPECT_EQ(differ, 0) << "output " << k;
    begin += widths[k];
    cudaFree(d_out[k]);
  }
  const cuda::ColumnSplit odd[2] = {{nullptr, 6140}, {nullptr, 4}};
  EXPECT_NE(cuda::split_columns(d_src, rows, total, odd, 2, nullptr), "");
  EXPECT_NE(cuda::split_columns(d_src, rows, total + 8, splits.data(), 3, nullptr), "") << "widths must sum up";

  // Stacked gate/up: rows x [gate | up] of width I each.
  const int I = 9728;
  const auto gu = random_bf16(static_cast<size_t>(rows) * 2 * I, rng, 3.f);
  std::vector<uint16_t> gate(static_cast<size_t>(rows) * I), up(gate.size());
  for (int r = 0; r < rows; ++r) {
    std::copy_n(gu.begin() + static_cast<size_t>(r) * 2 * I, I, gate.begin() + static_cast<size_t>(r) * I);
    std::copy_n(gu.begin() + static_cast<size_t>(r) * 2 * I + I, I, up.begin() + static_cast<size_t>(r) * I);
  }
  uint16_t *d_gu = to_device(gu), *d_g = to_device(gate), *d_u = to_device(up);
  uint16_t* d_stacked = to_device(std::vector<uint16_t>(gate.size(), 0));
  ASSERT_EQ(cuda::silu_mul_stacked(d_gu, d_stacked, rows, I, nullptr), "");
  ASSERT_EQ(cuda::silu_mul(d_g, d_u, d_g, static_cast<int64_t>(rows) * I, nullptr), "");
  const auto a = to_host<uint16_t>(d_stacked, gate.size()), b = to_host<uint16_t>(d_g, gate.size());
  int differ = 0, nonzero = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != b[i], nonzero += a[i] != 0;
  EXPECT_EQ(differ, 0);
  EXPECT_GT(nonzero, static_cast<int>(a.size()) / 2);
  EXPECT_NE(cuda::silu_mul_stacked(d_gu, d_stacked, rows, 12, nullptr), "");
  for (void* p : {static_cast<void*>(d_src), static_cast<void*>(d_gu), static_cast<void*>(d_g), static_cast<void*>(d_u),
                  static_cast<void*>(d_stacked)}) {
    cudaFree(p);
  }
}

TEST(FusedOps, AddRmsNormEqualsAddThenNorm) {
  std::mt19937 rng(2);
  // 2560: one 16-byte chunk per thread; 12288: several; 8: one warp; 20000 (past 4 chunks x 512
  // threads) and 100 (not a multiple of 8): the scalar kernel.
  for (const int d : {2560, 12288, 8, 20000, 100}) {
    SCOPED_TRACE("d " + std::to_string(d));
    const int rows = 5;
    const auto x = random_bf16(static_cast<size_t>(rows) * d, rng), y = random_bf16(static_cast<size_t>(rows) * d, rng);
    const auto w = random_bf16(d, rng);
    uint16_t *dx = to_device(x), *dy = to_device(y), *dw = to_device(w), *dout = to_device(x);
    ASSERT_EQ(cuda::add_rms_norm(dx, dy, dw, rows, d, 1e-6f, dout, nullptr), "");
    const auto sum = to_host<uint16_t>(dx, x.size()), out = to_host<uint16_t>(dout, x.size());
    for (int r = 0; r < rows; ++r) {
      double ss = 0;
      for (int i = 0; i < d; ++i) {
        const size_t at = static_cast<size_t>(r) * d + i;
        const float s = bf16_to_f32(f32_to_bf16(bf16_to_f32(x[at]) + bf16_to_f32(y[at])));
        ASSERT_EQ(sum[at], f32_to_bf16(s)) << "row " << r << " col " << i;
        ss += static_cast<double>(s) * s;
      }
      const double inv = 1.0 / std::sqrt(ss / d + 1e-6);
      for (int i = 0; i < d; ++i) {
        const size_t at = static_cast<size_t>(r) * d + i;
        const double ref = bf16_to_f32(w[i]) * bf16_to_f32(f32_to_bf16(static_cast<float>(bf16_to_f32(sum[at]) * inv)));
        EXPECT_NEAR(bf16_to_f32(out[at]), ref, std::abs(ref) / 64 + 1e-6) << "row " << r << " col " << i;
      }
    }
    for (void* p : {static_cast<void*>(dx), static_cast<void*>(dy), static_cast<void*>(dw), static_cast<void*>(dout)})
      cudaFree(p);
  }
}

void check_qk_norm_rope_kv_write(int d) {
  std::mt19937 rng(3);
  const int n = 3, heads = 4, kv_heads = 2, slots_total = 10;
  const std::vector<int> positions = {0, 7, 131000}, slots = {9, 2, 5};
  std::vector<float> inv_freq(d / 2);
  for (int i = 0; i < d / 2; ++i) inv_freq[i] = static_cast<float>(std::pow(1e6, -2.0 * i / d));
  const auto q = random_bf16(static_cast<size_t>(n) * heads * d, rng), k = random_bf16(static_cast<size_t>(n) * kv_heads * d, rng);
  const auto v = random_bf16(static_cast<size_t>(n) * kv_heads * d, rng);
  const auto qn = random_bf16(d, rng), kn = random_bf16(d, rng);
  std::vector<uint16_t> zeros(static_cast<size_t>(slots_total) * kv_heads * d, 0);
  uint16_t *dq = to_device(q), *dk = to_device(k), *dv = to_device(v), *dqn = to_device(qn), *dkn = to_device(kn);
  uint16_t *dkc = to_device(zeros), *dvc = to_device(zeros);
  int *dpos = to_device(positions), *dslots = to_device(slots);
  float* dinv = to_device(inv_freq);
  const float scaling = 0.9f;
  ASSERT_EQ(cuda::qk_norm_rope_kv_write(dq, dk, dv, dqn, dkn, 1e-6f, dpos, dinv, scaling, dslots, n, heads, kv_heads, d,
                                        dkc, dvc, nullptr), "");
  const auto qo = to_host<uint16_t>(dq, q.size()), kc = to_host<uint16_t>(dkc, zeros.size()), vc = to_host<uint16_t>(dvc, zeros.size());
  // Reference: RMSNorm (bf16 roundings as rms_norm), then rotate-half RoPE in fp64 from the fp32 angle.
  auto expect_head = [&](const uint16_t* in, const std::vector<uint16_t>& norm, int t, const uint16_t* got, const char* what) {
    double ss = 0;
    for (int i = 0; i < d; ++i) ss += static_cast<double>(bf16_to_f32(in[i])) * bf16_to_f32(in[i]);
    const double inv = 1.0 / std::sqrt(ss / d + 1e-6);
    std::vector<double> nx(d);
    for (int i = 0; i < d; ++i) {
      nx[i] = bf16_to_f32(f32_to_bf16(bf16_to_f32(norm[i]) * bf16_to_f32(f32_to_bf16(static_cast<float>(bf16_to_f32(in[i]) * inv)))));
    }
    for (int i = 0; i < d / 2; ++i) {
      const double angle = static_cast<float>(static_cast<double>(positions[t]) * inv_freq[i]);
      const double c = std::cos(angle) * scaling, s = std::sin(angle) * scaling;
      const double a = nx[i] * c - nx[i + d / 2] * s, b = nx[i + d / 2] * c + nx[i] * s;
      EXPECT_NEAR(bf16_to_f32(got[i]), a, std::abs(a) / 64 + 2e-3) << what << " t " << t << " i " << i;
      EXPECT_NEAR(bf16_to_f32(got[i + d / 2]), b, std::abs(b) / 64 + 2e-3) << what << " t " << t << " i " << i;
    }
  };
  for (int t = 0; t < n; ++t) {
    for (int h = 0; h < heads; ++h) {
      const size_t at = (static_cast<size_t>(t) * heads + h) * d;
      expect_head(q.data() + at, qn, t, qo.data() + at, "q");
    }
    for (int h = 0; h < kv_heads; ++h) {
      const size_t src = (static_cast<size_t>(t) * kv_heads + h) * d, dst = (static_cast<size_t>(slots[t]) * kv_heads + h) * d;
      expect_head(k.data() + src, kn, t, kc.data() + dst, "k");
      for (int i = 0; i < d; ++i) ASSERT_EQ(vc[dst + i], v[src + i]) << "v t " << t << " h " << h;
    }
  }
  for (void* p : {static_cast<void*>(dq), static_cast<void*>(dk), static_cast<void*>(dv), static_cast<void*>(dqn),
                  static_cast<void*>(dkn), static_cast<void*>(dkc), static_cast<void*>(dvc), static_cast<void*>(dpos),
                  static_cast<void*>(dslots), static_cast<void*>(dinv)}) {
    cudaFree(p);
  }
}

TEST(FusedOps, QkNormRopeKvWriteEqualsTheDefinition) {
  EXPECT_FALSE(cuda::qk_norm_rope_kv_write_supported(16));  // the backend runs the unfused ops there
  for (int d : {64, 128}) {
    SCOPED_TRACE("head_dim " + std::to_string(d));
    check_qk_norm_rope_kv_write(d);
  }
}

// The Hopper prefill's two products on one warpgroup (wgmma descriptors, 128-byte swizzle, the
// accumulator and A-register layouts) against fp64: S = Q K^T and O = P V.
// argmax_rows is the host's greedy pick (std::max_element: first index of the maximum) with NaN
// read as -inf: ties, rows starting off a 16-byte boundary (cols not a multiple of 4), one column,
// a vocabulary-sized row, rows of -inf and of NaN.
TEST(Argmax, RowsMatchTheFirstMaximum) {
  std::mt19937 rng(21);
  for (int cols : {1, 3, 7, 1000, 4097, 151936}) {
    const int rows = cols == 151936 ? 33 : 9;
    std::vector<float> x(static_cast<size_t>(rows) * cols);
    std::normal_distribution<float> d(0.f, 4.f);
    for (auto& v : x) v = d(rng);
    auto row = [&](int r) { return x.data() + static_cast<size_t>(r) * cols; };
    if (rows > 1) std::fill(row(1), row(1) + cols, -INFINITY);
    if (rows > 2) std::fill(row(2), row(2) + cols, NAN);
    if (rows > 3 && cols > 2) {  // a tie at the maximum: the first of them wins
      float* r3 = row(3);
      const float m = *std::max_element(r3, r3 + cols) + 1.f;
      r3[cols - 1] = m, r3[cols / 2] = m, r3[cols / 3 + 1] = m;
    }
    if (rows > 4 && cols > 2) {  // NaN next to the maximum
      float* r4 = row(4);
      const int at = static_cast<int>(std::max_element(r4, r4 + cols) - r4);
      r4[(at + 1) % cols] = NAN;
      r4[0] = NAN;
    }
    float* d_x = to_device(x);
    int32_t* d_out = to_device(std::vector<int32_t>(rows, -1));
    ASSERT_EQ(cuda::argmax_rows(d_x, rows, cols, d_out, nullptr), "");
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const std::vector<int32_t> got = to_host<int32_t>(d_out, rows);
    for (int r = 0; r < rows; ++r) {
      std::vector<float> clean(row(r), row(r) + cols);
      for (float& v : clean) v = std::isnan(v) ? -INFINITY : v;
      const int want = static_cast<int>(std::max_element(clean.begin(), clean.end()) - clean.begin());
      EXPECT_EQ(got[r], want) << "cols " << cols << " row " << r;
    }
    cudaFree(d_x);
    cudaFree(d_out);
  }
}

TEST(Wgmma, ProductsMatchFp64) {
  std::mt19937 rng(4);
  const auto q = random_bf16(64 * 128, rng), k = random_bf16(128 * 128, rng), p = random_bf16(64 * 128, rng);
  const auto v = random_bf16(128 * 128, rng);
  uint16_t *dq = to_device(q), *dk = to_device(k), *dp = to_device(p), *dv = to_device(v);
  float* ds = to_device(std::vector<float>(64 * 128));
  float* dout = to_device(std::vector<float>(64 * 128));
  ASSERT_EQ(cuda::wgmma_check(dq, dk, dp, dv, ds, dout), "");
  const auto s = to_host<float>(ds, 64 * 128), o = to_host<float>(dout, 64 * 128);
  int bad_s = 0, bad_o = 0;
  for (int r = 0; r < 64; ++r) {
    for (int c = 0; c < 128; ++c) {
      double ref_s = 0, mag_s = 0, ref_o = 0, mag_o = 0;
      for (int i = 0; i < 128; ++i) {
        const double ps = static_cast<double>(bf16_to_f32(q[r * 128 + i])) * bf16_to_f32(k[c * 128 + i]);
        const double po = static_cast<double>(bf16_to_f32(p[r * 128 + i])) * bf16_to_f32(v[i * 128 + c]);
        ref_s += ps, mag_s += std::abs(ps), ref_o += po, mag_o += std::abs(po);
      }
      if (std::abs(s[r * 128 + c] - ref_s) > 1e-5 * mag_s + 1e-6 && bad_s++ < 5) {
        ADD_FAILURE() << "S[" << r << "][" << c << "] = " << s[r * 128 + c] << ", want " << ref_s;
      }
      if (std::abs(o[r * 128 + c] - ref_o) > 1e-5 * mag_o + 1e-6 && bad_o++ < 5) {
        ADD_FAILURE() << "O[" << r << "][" << c << "] = " << o[r * 128 + c] << ", want " << ref_o;
      }
    }
  }
  EXPECT_EQ(bad_s, 0) << "S = Q K^T entries off (K-major descriptors, accumulator layout)";
  EXPECT_EQ(bad_o, 0) << "O = P V entries off (transposed-V descriptor, A-register layout)";
  for (void* ptr : {static_cast<void*>(dq), static_cast<void*>(dk), static_cast<void*>(dp), static_cast<void*>(dv),
                    static_cast<void*>(ds), static_cast<void*>(dout)}) {
    cudaFree(ptr);
  }
}

}  // namespace
}  // namespace swaa
