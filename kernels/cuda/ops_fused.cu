// Fused elementwise kernels of the CUDA backend (see ops.h): the residual add with the next
// RMSNorm, and a layer's attention inputs (q/k RMSNorm, RoPE, KV-cache write) in one pass. Each
// keeps the roundings of the unfused sequence (bf16 after every step Transformers rounds at), so
// the fused and unfused paths differ at most by float summation order in the norms.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "ops.h"

namespace swaa::cuda {
namespace {

using bf16 = __nv_bfloat16;

cudaStream_t st(void* s) { return static_cast<cudaStream_t>(s); }
std::string check(const char* what) {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? std::string() : std::string(what) + ": " + cudaGetErrorString(e);
}
__device__ float round_bf16(float v) { return __bfloat162float(__float2bfloat16(v)); }

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ float block_sum(float v) {
  __shared__ float partial[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // partial[] may still be read by an earlier call
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
  __syncthreads();
  float s = 0.f;
  for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) s += partial[w];
  return s;
}

// One CTA per row: x = bf16(x + y); out = bf16(w * bf16(x * rsqrt(mean(x^2) + eps))).
__global__ void add_rms_norm_kernel(bf16* x, const bf16* y, const bf16* w, int d, float eps, bf16* out) {
  const int64_t base = static_cast<int64_t>(blockIdx.x) * d;
  float ss = 0.f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    const float v = round_bf16(__bfloat162float(x[base + i]) + __bfloat162float(y[base + i]));
    x[base + i] = __float2bfloat16(v);
    ss += v * v;
  }
  const float inv = rsqrtf(block_sum(ss) / d + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    const float normed = round_bf16(__bfloat162float(x[base + i]) * inv);  // this thread's own write
    out[base + i] = __float2bfloat16(__bfloat162float(w[i]) * normed);
  }
}

// The same for d % 8 == 0 and 16-byte aligned rows, d <= 8 * kChunks * blockDim.x: every thread
// loads its (up to kChunks) 8-value chunks of x, y and w at once and keeps the sums in registers,
// so a row costs one round trip to memory before the reduction instead of three dependent ones
// (what a decode step's one-row norms wait on). Summation order differs from add_rms_norm_kernel.
template <int kChunks>
__global__ void __launch_bounds__(kChunks == 1 ? 1024 : 512)
    add_rms_norm_vec_kernel(bf16* x, const bf16* y, const bf16* w, int d, float eps, bf16* out) {
  const int64_t base = static_cast<int64_t>(blockIdx.x) * d;
  const int chunks = d / 8;
  uint4* xr = reinterpret_cast<uint4*>(x + base);
  const uint4* yr = reinterpret_cast<const uint4*>(y + base);
  const uint4* wr = reinterpret_cast<const uint4*>(w);
  uint4 xv[kChunks], yv[kChunks], wv[kChunks];
#pragma unroll
  for (int u = 0; u < kChunks; ++u) {
    const int c = threadIdx.x + u * blockDim.x;
    if (c < chunks) {
      xv[u] = xr[c];
      yv[u] = yr[c];
      wv[u] = __ldg(wr + c);
    }
  }
  // xv becomes the bf16 sum (exact: the sum is rounded to bf16 before it is squared).
  float ss = 0.f;
#pragma unroll
  for (int u = 0; u < kChunks; ++u) {
    const int c = threadIdx.x + u * blockDim.x;
    if (c >= chunks) break;
    bf16* xe = reinterpret_cast<bf16*>(&xv[u]);
    const bf16* ye = reinterpret_cast<const bf16*>(&yv[u]);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      xe[e] = __float2bfloat16(__bfloat162float(xe[e]) + __bfloat162float(ye[e]));
      const float h = __bfloat162float(xe[e]);
      ss += h * h;
    }
    xr[c] = xv[u];
  }
  const float inv = rsqrtf(block_sum(ss) / d + eps);
  uint4* outr = reinterpret_cast<uint4*>(out + base);
#pragma unroll
  for (int u = 0; u < kChunks; ++u) {
    const int c = threadIdx.x + u * blockDim.x;
    if (c >= chunks) break;
    const bf16* xe = reinterpret_cast<const bf16*>(&xv[u]);
    const bf16* we = reinterpret_cast<const bf16*>(&wv[u]);
    uint4 o;
    bf16* oe = reinterpret_cast<bf16*>(&o);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      oe[e] = __float2bfloat16(__bfloat162float(we[e]) * round_bf16(__bfloat162float(xe[e]) * inv));
    }
    outr[c] = o;
  }
}

// Grid (tokens, heads + kv_heads), d/2 threads (d a multiple of 64: whole warps): thread i owns
// elements i and i + d/2 of one head (the rotate-half pair). Query heads are rewritten in place;
// key heads go to the K cache at the token's slot, and the same CTA copies that KV head's V row.
__global__ void qk_norm_rope_kv_write_kernel(bf16* q, const bf16* k, const bf16* v, const bf16* q_norm,
                                             const bf16* k_norm, float eps, const int* positions,
                                             const float* inv_freq, float scaling, const int* slots, int heads,
                                             int kv_heads, int d, bf16* kc, bf16* vc) {
  const int t = blockIdx.x, y = blockIdx.y, half = d / 2, i = threadIdx.x;
  const bool is_q = y < heads;
  const int h = is_q ? y : y - heads;
  const bf16* src = is_q ? q + (static_cast<int64_t>(t) * heads + h) * d : k + (static_cast<int64_t>(t) * kv_heads + h) * d;
  float a = __bfloat162float(src[i]), b = __bfloat162float(src[i + half]);
  const bf16* norm_w = is_q ? q_norm : k_norm;
  if (norm_w != nullptr) {
    const float inv = rsqrtf(block_sum(a * a + b * b) / d + eps);
    a = round_bf16(__bfloat162float(norm_w[i]) * round_bf16(a * inv));
    b = round_bf16(__bfloat162float(norm_w[i + half]) * round_bf16(b * inv));
  }
  // The angle rounded to fp32 as Transformers computes it (positions x inv_freq in fp32), then
  // reduced to [-pi, pi] in fp64 so the fast sincos stays accurate at positions of 100k and more.
  const float angle = static_cast<float>(static_cast<double>(positions[t]) * static_cast<double>(inv_freq[i]));
  float s, c;
  __sincosf(static_cast<float>(remainder(static_cast<double>(angle), 6.283185307179586)), &s, &c);
  c *= scaling;
  s *= scaling;
  const bf16 ra = __float2bfloat16(a * c - b * s), rb = __float2bfloat16(b * c + a * s);
  if (is_q) {
    bf16* dst = q + (static_cast<int64_t>(t) * heads + h) * d;
    dst[i] = ra;
    dst[i + half] = rb;
    return;
  }
  const int64_t row = (static_cast<int64_t>(slots[t]) * kv_heads + h) * d;
  kc[row + i] = ra;
  kc[row + i + half] = rb;
  const bf16* vr = v + (static_cast<int64_t>(t) * kv_heads + h) * d;
  vc[row + i] = vr[i];
  vc[row + i + half] = vr[i + half];
}

}  // namespace

std::string add_rms_norm(void* x, const void* y, const void* w, int rows, int d, float eps, void* out, void* stream) {
  if (rows == 0) return "";
  // One chunk of 8 per thread up to d = 8192; up to 4 per thread (512 threads, no register spills)
  // up to d = 16384; the scalar kernel beyond, for d % 8 != 0, or unaligned rows.
  const int chunks = d / 8;
  const bool aligned = (reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(y) |
                        reinterpret_cast<uintptr_t>(w) | reinterpret_cast<uintptr_t>(out)) % 16 == 0;
  const bool vec = d % 8 == 0 && aligned;
  auto run = [&](auto kernel, int threads) {
    kernel<<<rows, threads, 0, st(stream)>>>(static_cast<bf16*>(x), static_cast<const bf16*>(y),
                                             static_cast<const bf16*>(w), d, eps, static_cast<bf16*>(out));
  };
  if (vec && chunks <= 1024) {
    run(add_rms_norm_vec_kernel<1>, (chunks + 31) / 32 * 32);
  } else if (vec && chunks <= 4 * 512) {
    run(add_rms_norm_vec_kernel<4>, ((chunks + 3) / 4 + 31) / 32 * 32);
  } else {
    run(add_rms_norm_kernel, d >= 1024 ? 1024 : ((d + 31) / 32) * 32);
  }
  return check("add_rms_norm");
}

std::string qk_norm_rope_kv_write(void* q, const void* k, const void* v, const void* q_norm, const void* k_norm,
                                  float eps, const int* positions, const float* inv_freq, float scaling,
                                  const int* slots, int n, int heads, int kv_heads, int d, void* k_cache,
                                  void* v_cache, void* stream) {
  if (!qk_norm_rope_kv_write_supported(d)) {
    return "qk_norm_rope_kv_write: head_dim must be 64, 128, 192 or 256, got " + std::to_string(d);
  }
  if (n == 0) return "";
  qk_norm_rope_kv_write_kernel<<<dim3(n, heads + kv_heads), d / 2, 0, st(stream)>>>(
      static_cast<bf16*>(q), static_cast<const bf16*>(k), static_cast<const bf16*>(v), static_cast<const bf16*>(q_norm),
      static_cast<const bf16*>(k_norm), eps, positions, inv_freq, scaling, slots, heads, kv_heads, d,
      static_cast<bf16*>(k_cache), static_cast<bf16*>(v_cache));
  return check("qk_norm_rope_kv_write");
}

}  // namespace swaa::cuda
