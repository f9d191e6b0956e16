// Shared pieces of the SWAA training kernels (attention_train_fwd.cu, attention_train_bwd.cu): the
// tile shape, the thread layout and the bf16 -> fp32 shared-memory tile loader. Invariant: every tile
// a kernel computes from is loaded here, explicitly, in the iteration that uses it (no prefetch that a
// short tile walk could leave stale, SWAA.md §5). Tests: tests/kernels/attention_train_test.cc.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace swaa::cuda::train {

// 64 x 64 tiles, 256 threads. Thread (g, l) = (tid / 16, tid % 16): a half-warp shares g, so row
// reductions over l are 4 shuffles, and an operand indexed by g is a shared-memory broadcast.
constexpr int kTile = 64;
constexpr int kThreads = 256;
constexpr int kPStride = kTile + 1;  // fp32 stride of the [64][64] probability tiles (odd: no bank conflicts)
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// fp32 row stride of a [64][kD] operand tile in shared memory: kD + 1 (= 1 mod 32 banks), so the 16
// different rows a half-warp reads at one column d land in 16 different banks.
template <int kD>
constexpr int kRowStride = kD + 1;

// dst[r * stride + d] = src[r * src_stride + d] as fp32 for r < valid_rows, 0 for the other rows of
// the tile (they are never read from global memory). src rows are 16-byte aligned.
template <int kD>
__device__ __forceinline__ void load_tile(float* dst, int stride, const __nv_bfloat16* src, long long src_stride,
                                          int valid_rows) {
  constexpr int kChunks = kD / 8;  // 16-byte chunks of 8 bf16 per row
  for (int i = threadIdx.x; i < kTile * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    float* d = dst + r * stride + c * 8;
    if (r < valid_rows) {
      const uint4 raw = *reinterpret_cast<const uint4*>(src + r * src_stride + c * 8);
      const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float2 f = __bfloat1622float2(h[e]);
        d[2 * e] = f.x;
        d[2 * e + 1] = f.y;
      }
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e) d[e] = 0.f;
    }
  }
}

// Does row t (local position; a prompt row iff t < prompt_len) see key j? SWAA.md §2 with §4's split.
template <class P>
__device__ __forceinline__ bool train_visible(const P& p, int t, int j, int prompt_len) {
  return j <= t && (!p.sliding || (p.fa_decode && t >= prompt_len) || j > t - p.window || j < p.keep_first);
}

// Keys that every row of [m0, m0 + rows) sees: [0, end) is causal for all of them (the first row's
// end), and a key of a sliding layer is also inside every windowed row's window when >= window_begin,
// or among every windowed row's sinks when < sink_end. A key tile [k0, k0 + n) needs no per-element
// mask iff k0 + n <= end && (k0 >= window_begin || k0 + n <= sink_end).
struct AllVisible {
  int end;
  int window_begin;
  int sink_end;
};
template <class P>
__device__ __forceinline__ AllVisible train_all_visible(const P& p, int m0, int rows, int prompt_len) {
  AllVisible a{m0 + 1, 0, 0x7fffffff};
  if (!p.sliding) return a;
  const int last_windowed = (p.fa_decode ? min(m0 + rows, max(prompt_len, 0)) : m0 + rows) - 1;
  if (last_windowed >= m0) {
    a.window_begin = max(0, last_windowed - p.window + 1);
    a.sink_end = min(p.keep_first, max(0, m0 - p.window + 1));
  }
  return a;
}

__device__ __forceinline__ float half_warp_max(float x) {
#pragma unroll
  for (int o = 8; o > 0; o /= 2) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float half_warp_sum(float x) {
#pragma unroll
  for (int o = 8; o > 0; o /= 2) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

}  // namespace swaa::cuda::train
