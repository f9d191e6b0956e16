// Skinny GEMM for decode steps (see ops.h): out[j, :] = x[j, :] @ w^T for up to kGemvMaxRows rows.
// One warp per output feature: its lanes stream that weight row with 16-byte loads (8 in flight
// per lane), multiply by every x row, reduce across the warp. The weight matrix is read once, so
// the kernel is bound by HBM bandwidth (4.4 TB/s on the 778 MB lm_head of Qwen3-4B on the H200;
// 0.7-2.8 TB/s on the 5-50 MB projections, where fewer CTAs leave a tail).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "ops.h"

namespace swaa::cuda {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kWarps = 8;  // output features per CTA

template <int N>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w,
                                                           int n, int k, int m, void* out, bool out_f32) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int row = blockIdx.x * kWarps + warp;
  if (row >= m) return;
  const uint4* wr = reinterpret_cast<const uint4*>(w + static_cast<long long>(row) * k);
  const int chunks = k / 8;
  float acc[N];
#pragma unroll
  for (int j = 0; j < N; ++j) acc[j] = 0.f;
#pragma unroll 8
  for (int c = lane; c < chunks; c += 32) {
    const uint4 wv = __ldg(wr + c);
    const __nv_bfloat162* wp = reinterpret_cast<const __nv_bfloat162*>(&wv);
#pragma unroll
    for (int j = 0; j < N; ++j) {
      if (j < n) {
        const uint4 xv = __ldg(reinterpret_cast<const uint4*>(x + static_cast<long long>(j) * k) + c);
        const __nv_bfloat162* xp = reinterpret_cast<const __nv_bfloat162*>(&xv);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float2 wf = __bfloat1622float2(wp[e]), xf = __bfloat1622float2(xp[e]);
          acc[j] = fmaf(wf.x, xf.x, fmaf(wf.y, xf.y, acc[j]));
        }
      }
    }
  }
#pragma unroll
  for (int j = 0; j < N; ++j) {
    float v = acc[j];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0 && j < n) {
      const long long at = static_cast<long long>(j) * m + row;
      if (out_f32) {
        static_cast<float*>(out)[at] = v;
      } else {
        static_cast<bf16*>(out)[at] = __float2bfloat16(v);
      }
    }
  }
}

template <int N>
void launch(const void* x, const void* w, int n, int k, int m, void* out, bool out_f32, cudaStream_t s) {
  gemv_kernel<N><<<(m + kWarps - 1) / kWarps, kWarps * 32, 0, s>>>(static_cast<const bf16*>(x),
                                                                   static_cast<const bf16*>(w), n, k, m, out, out_f32);
}

}  // namespace

bool gemv_supported(const void* x, const void* w, int n, int k) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return n >= 1 && n <= kGemvMaxRows && k % 8 == 0 && aligned(x) && aligned(w);
}

std::string gemv(const void* x, const void* w, int n, int k, int m, void* out, bool out_f32, void* stream) {
  if (!gemv_supported(x, w, n, k)) {
    return "gemv: needs 1 <= n <= " + std::to_string(kGemvMaxRows) + ", k % 8 == 0 and 16-byte aligned x and w; got n " +
           std::to_string(n) + ", k " + std::to_string(k);
  }
  if (m == 0) return "";
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (n == 1) {
    launch<1>(x, w, n, k, m, out, out_f32, s);
  } else if (n == 2) {
    launch<2>(x, w, n, k, m, out, out_f32, s);
  } else if (n <= 4) {
    launch<4>(x, w, n, k, m, out, out_f32, s);
  } else {
    launch<8>(x, w, n, k, m, out, out_f32, s);
  }
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? std::string() : std::string("gemv: ") + cudaGetErrorString(e);
}

}  // namespace swaa::cuda
