// Skinny GEMM for decode steps (see ops.h): out[j, :] = x[j, :] @ w^T (+ bias) for up to
// kGemvMaxRows rows, for one to three matrices of the same input in one launch (a layer's q, k and
// v), or gate and up fused with SwiGLU (silu(x @ gate^T) * (x @ up^T)).
//
// A CTA has 8 warps. Each output feature is computed by `ks` warps (1, 2, 4 or 8), each streaming
// 1/ks of the weight row with 16-byte loads, kLoads in flight per lane; the ks partial sums meet in
// shared memory. ks grows while the launch has fewer warps than about 96 per SM and each warp keeps
// at least 4 loads per lane, so the 2560-row o and down projections of Qwen3-4B fill the H200
// instead of leaving it two-thirds idle. The weights are read once: the kernel is bound by HBM
// bandwidth. Roundings are those of the unfused sequence (bf16 output, then + bias in bf16, then
// silu rounded to bf16 before the product, as ops.cu's add_bias and silu_mul).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "gemv_common.cuh"
#include "ops.h"

namespace swaa::cuda {
namespace {

using namespace gemv_common;
constexpr int kMaxMatrices = kGemvMaxMatrices;
// Split target (gemv_common::split_for; moe_gemv.cu keeps 48). 96 warps per SM puts Qwen3-4B's
// down projection (2560 features over k = 9728) on 8 warps per feature: 17.7 us in a decode step's
// order against 19.9 with 4 (`bench/gemv_bench --chain`, H200, 2026-12-03), while q/k/v, o and
// gate/up keep 2, 4 and 1 (more would drop under 4 loads per lane or, for gate/up, whose warps
// read two rows, measured slower: 29.8 us with 2 against 28.4).
constexpr int kSplitWarpsPerSm = 96;

struct GemvArgs {
  const bf16* x;
  int n, k, ks;
  int count;                      // matrices in this launch (gated: 1, its gate; up in up_w)
  int row_end[kMaxMatrices];      // cumulative output features: matrix i owns [row_end[i-1], row_end[i])
  const bf16* w[kMaxMatrices];
  const bf16* bias[kMaxMatrices];
  void* out[kMaxMatrices];
  const bf16* up_w;               // gated only
  const bf16* up_bias;
  bool out_f32;
};

template <int N, bool kGated>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const GemvArgs a) {
  constexpr int kLoads = kGated ? 4 : (N <= 2 ? 8 : 4);  // 16-byte weight loads in flight per lane
  __shared__ float red[kGated ? 2 : 1][kWarps][N];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int part = warp % a.ks;
  const int feature = blockIdx.x * (kWarps / a.ks) + warp / a.ks;  // over all matrices of the launch
  const bool active = feature < a.row_end[a.count - 1];
  int mi = 0;
  while (mi + 1 < a.count && feature >= a.row_end[mi]) ++mi;
  const int row = feature - (mi == 0 ? 0 : a.row_end[mi - 1]);
  const int m = a.row_end[mi] - (mi == 0 ? 0 : a.row_end[mi - 1]);
  const int chunks = a.k / 8;
  const int begin = chunks * part / a.ks, end = chunks * (part + 1) / a.ks;

  float acc[N], acc_up[N];
#pragma unroll
  for (int j = 0; j < N; ++j) acc[j] = acc_up[j] = 0.f;
  if (active) {
    const long long off = static_cast<long long>(row) * a.k;
    dot_rows<N, kLoads>(a.x, reinterpret_cast<const uint4*>(a.w[mi] + off), a.k, a.n, begin, end, lane, acc);
    if constexpr (kGated) {
      dot_rows<N, kLoads>(a.x, reinterpret_cast<const uint4*>(a.up_w + off), a.k, a.n, begin, end, lane, acc_up);
    }
  }
  reduce<N>(acc, red[0], warp, part, a.ks);
  if constexpr (kGated) reduce<N>(acc_up, red[1], warp, part, a.ks);
  if (!active || part != 0 || lane != 0) return;
#pragma unroll
  for (int j = 0; j < N; ++j) {
    if (j >= a.n) break;
    const long long at = static_cast<long long>(j) * m + row;
    if constexpr (kGated) {
      const float g = to_bf16_plus_bias(acc[j], a.bias[0], row);
      const float u = to_bf16_plus_bias(acc_up[j], a.up_bias, row);
      static_cast<bf16*>(a.out[0])[at] = silu_times(g, u);
    } else if (a.out_f32) {
      const float b = a.bias[mi] != nullptr ? __bfloat162float(a.bias[mi][row]) : 0.f;
      static_cast<float*>(a.out[mi])[at] = acc[j] + b;
    } else {
      static_cast<bf16*>(a.out[mi])[at] = __float2bfloat16(to_bf16_plus_bias(acc[j], a.bias[mi], row));
    }
  }
}

template <bool kGated>
std::string launch(GemvArgs& a, cudaStream_t s) {
  const int features = a.row_end[a.count - 1];
  a.ks = split_for(features, a.k, kSplitWarpsPerSm, kGated ? 2 : 1);
  const int per_cta = kWarps / a.ks;
  const dim3 grid((features + per_cta - 1) / per_cta);
  if (a.n == 1) {
    gemv_kernel<1, kGated><<<grid, kWarps * 32, 0, s>>>(a);
  } else if (a.n == 2) {
    gemv_kernel<2, kGated><<<grid, kWarps * 32, 0, s>>>(a);
  } else if (a.n <= 4) {
    gemv_kernel<4, kGated><<<grid, kWarps * 32, 0, s>>>(a);
  } else {
    gemv_kernel<8, kGated><<<grid, kWarps * 32, 0, s>>>(a);
  }
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? std::string() : std::string("gemv: ") + cudaGetErrorString(e);
}

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

std::string unsupported(int n, int k) {
  return "gemv: needs 1 <= n <= " + std::to_string(kGemvMaxRows) + ", k % 8 == 0 and 16-byte aligned x and w; got n " +
         std::to_string(n) + ", k " + std::to_string(k);
}

}  // namespace

bool gemv_supported(const void* x, const void* w, int n, int k) {
  return n >= 1 && n <= kGemvMaxRows && k % 8 == 0 && aligned(x) && aligned(w);
}

std::string gemv_many(const void* x, int n, int k, const GemvOutput* outs, int count, bool out_f32, void* stream) {
  if (count < 1 || count > kMaxMatrices) {
    return "gemv_many: 1 to " + std::to_string(kMaxMatrices) + " matrices per launch, got " + std::to_string(count);
  }
  GemvArgs a{};
  a.x = static_cast<const bf16*>(x);
  a.n = n;
  a.k = k;
  a.count = count;
  a.out_f32 = out_f32;
  int rows = 0;
  for (int i = 0; i < count; ++i) {
    if (!gemv_supported(x, outs[i].w, n, k)) return unsupported(n, k);
    rows += outs[i].m;
    a.row_end[i] = rows;
    a.w[i] = static_cast<const bf16*>(outs[i].w);
    a.bias[i] = static_cast<const bf16*>(outs[i].bias);
    a.out[i] = outs[i].out;
  }
  if (rows == 0) return "";
  return launch<false>(a, static_cast<cudaStream_t>(stream));
}

std::string gemv(const void* x, const void* w, int n, int k, int m, void* out, bool out_f32, void* stream) {
  const GemvOutput o{w, nullptr, out, m};
  return gemv_many(x, n, k, &o, 1, out_f32, stream);
}

std::string gemv_swiglu(const void* x, int n, int k, int m, const void* gate_w, const void* gate_bias,
                        const void* up_w, const void* up_bias, void* out, void* stream) {
  if (!gemv_supported(x, gate_w, n, k) || !aligned(up_w)) return unsupported(n, k);
  if (m == 0) return "";
  GemvArgs a{};
  a.x = static_cast<const bf16*>(x);
  a.n = n;
  a.k = k;
  a.count = 1;
  a.row_end[0] = m;
  a.w[0] = static_cast<const bf16*>(gate_w);
  a.bias[0] = static_cast<const bf16*>(gate_bias);
  a.out[0] = out;
  a.up_w = static_cast<const bf16*>(up_w);
  a.up_bias = static_cast<const bf16*>(up_bias);
  return launch<true>(a, static_cast<cudaStream_t>(stream));
}

}  // namespace swaa::cuda
