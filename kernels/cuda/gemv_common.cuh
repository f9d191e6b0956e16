// Building blocks of the skinny decode GEMVs (gemv.cu, moe_gemv.cu): a warp's dot products over
// its share of a weight row with 16-byte loads, the reduction over the warps sharing a row, the
// bf16 roundings of the unfused ops, and how many warps share a row.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "device_info.h"

namespace swaa::cuda::gemv_common {

using bf16 = __nv_bfloat16;
constexpr int kWarps = 8;  // per CTA

// sum_c x[j, c] * w[c] over this warp's chunks [begin, end) of 8 bf16 values.
template <int N, int kLoads>
__device__ __forceinline__ void dot_rows(const bf16* __restrict__ x, const uint4* __restrict__ wr, int k, int n,
                                         int begin, int end, int lane, float (&acc)[N]) {
  for (int c0 = begin + lane; c0 < end; c0 += 32 * kLoads) {
    uint4 wv[kLoads];
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int c = c0 + u * 32;
      wv[u] = c < end ? __ldg(wr + c) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int c = c0 + u * 32;
      if (c >= end) break;
      const __nv_bfloat162* wp = reinterpret_cast<const __nv_bfloat162*>(&wv[u]);
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
  }
}

// Warp sum, then the sum over the ks warps of one feature (in part order: deterministic). The
// result is valid in lane 0 of the feature's part-0 warp.
template <int N>
__device__ __forceinline__ void reduce(float (&acc)[N], float (*red)[N], int warp, int part, int ks) {
#pragma unroll
  for (int j = 0; j < N; ++j) {
    for (int o = 16; o > 0; o >>= 1) acc[j] += __shfl_xor_sync(0xffffffffu, acc[j], o);
  }
  if (ks == 1) return;
  if ((threadIdx.x & 31) == 0) {
#pragma unroll
    for (int j = 0; j < N; ++j) red[warp][j] = acc[j];
  }
  __syncthreads();
  if (part == 0) {
#pragma unroll
    for (int j = 0; j < N; ++j) {
      float s = red[warp][j];
      for (int p = 1; p < ks; ++p) s += red[warp + p][j];
      acc[j] = s;
    }
  }
}

__device__ __forceinline__ float to_bf16_plus_bias(float v, const bf16* bias, int row) {
  float o = __bfloat162float(__float2bfloat16(v));
  if (bias != nullptr) o = __bfloat162float(__float2bfloat16(o + __bfloat162float(bias[row])));
  return o;
}

// silu(g) * u from the bf16 values of g and u (Transformers rounds silu(gate) to bf16 before the
// product); ops.cu's silu_mul and silu_mul_stacked use it too.
__device__ __forceinline__ bf16 silu_times(float g, float u) {
  const float silu = __bfloat162float(__float2bfloat16(g / (1.f + __expf(-g))));
  return __float2bfloat16(silu * u);
}

// Warps per output feature: grow while the launch has fewer than `warps_per_sm` warps per SM (a
// feature counts `rows_per_warp` times: 2 for the gated kernel, whose warps stream gate and up) and
// each warp keeps >= 4 loads per lane after the split.
inline int split_for(int features, int k, int warps_per_sm = 48, int rows_per_warp = 1) {
  const long long target = static_cast<long long>(warps_per_sm) * num_sms();
  const long long work = static_cast<long long>(features) * rows_per_warp;
  const int chunks = k / 8;
  int ks = 1;
  while (ks < kWarps && work * ks < target && chunks / (2 * ks) >= 32 * 4) ks *= 2;
  return ks;
}

}  // namespace swaa::cuda::gemv_common
