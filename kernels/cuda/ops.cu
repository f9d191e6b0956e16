// Elementwise and small kernels of the CUDA backend (see ops.h). One thread per element or per
// row; fp32 math on bf16 storage. These are memory-bound: a fused, vectorised version is a later
// optimisation with its own benchmark.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "gemv_common.cuh"  // silu_times: SwiGLU rounded as Transformers does
#include "ops.h"

namespace swaa::cuda {
namespace {

using bf16 = __nv_bfloat16;

std::string check(const char* what) {
  cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? std::string() : std::string(what) + ": " + cudaGetErrorString(e);
}
cudaStream_t st(void* s) { return static_cast<cudaStream_t>(s); }
unsigned blocks_for(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

__global__ void embedding_kernel(const bf16* table, const int32_t* ids, int n, int hidden, bf16* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(n) * hidden) return;
  const int64_t row = i / hidden, col = i % hidden;
  out[i] = table[static_cast<int64_t>(ids[row]) * hidden + col];
}

__global__ void rms_norm_kernel(const bf16* x, const bf16* w, int d, float eps, bf16* out) {
  const int64_t r = blockIdx.x;
  const bf16* xr = x + r * d;
  float ss = 0.f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    const float v = __bfloat162float(xr[i]);
    ss += v * v;
  }
  __shared__ float partial[32];
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < (blockDim.x >> 5) ? partial[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0) partial[0] = v;
  }
  __syncthreads();
  const float inv = rsqrtf(partial[0] / d + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    // As Transformers: normalise in fp32, round to the activation dtype, then scale by the weight.
    const float normed = __bfloat162float(__float2bfloat16(__bfloat162float(xr[i]) * inv));
    out[r * d + i] = __float2bfloat16(__bfloat162float(w[i]) * normed);
  }
}

__global__ void add_bias_kernel(void* x, bool f32, const bf16* bias, int64_t total, int cols) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const float b = __bfloat162float(bias[i % cols]);
  if (f32) {
    static_cast<float*>(x)[i] += b;
  } else {
    bf16* p = static_cast<bf16*>(x) + i;
    *p = __float2bfloat16(__bfloat162float(*p) + b);
  }
}

__global__ void add_kernel(bf16* x, const bf16* y, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) x[i] = __float2bfloat16(__bfloat162float(x[i]) + __bfloat162float(y[i]));
}

__global__ void rope_kernel(bf16* x, const int* positions, const float* inv_freq, int heads, int d, float scaling) {
  const int t = blockIdx.x;
  const int half = d / 2;
  const double pos = positions[t];
  for (int idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
    const int h = idx / half, i = idx % half;
    // fp32 angle as Transformers; reduced to [-pi, pi] in fp64 so the fast sincos stays accurate.
    const float angle = static_cast<float>(pos * static_cast<double>(inv_freq[i]));
    float s, c;
    __sincosf(static_cast<float>(remainder(static_cast<double>(angle), 6.283185307179586)), &s, &c);
    c *= scaling;
    s *= scaling;
    bf16* v = x + (static_cast<int64_t>(t) * heads + h) * d;
    const float a = __bfloat162float(v[i]), b = __bfloat162float(v[i + half]);
    v[i] = __float2bfloat16(a * c - b * s);
    v[i + half] = __float2bfloat16(b * c + a * s);
  }
}

__global__ void silu_mul_kernel(const bf16* g, const bf16* u, bf16* out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  out[i] = gemv_common::silu_times(__bfloat162float(g[i]), __bfloat162float(u[i]));
}

// One thread per 8 output columns (16-byte loads of gate and up, one 16-byte store).
__global__ void silu_mul_stacked_kernel(const bf16* gu, bf16* out, int rows, int cols) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int chunks = cols / 8;
  if (i >= static_cast<int64_t>(rows) * chunks) return;
  const int64_t r = i / chunks, c = (i % chunks) * 8;
  const uint4 g4 = *reinterpret_cast<const uint4*>(gu + r * 2 * cols + c);
  const uint4 u4 = *reinterpret_cast<const uint4*>(gu + r * 2 * cols + cols + c);
  const bf16* g = reinterpret_cast<const bf16*>(&g4);
  const bf16* u = reinterpret_cast<const bf16*>(&u4);
  uint4 o4;
  bf16* o = reinterpret_cast<bf16*>(&o4);
#pragma unroll
  for (int e = 0; e < 8; ++e) o[e] = gemv_common::silu_times(__bfloat162float(g[e]), __bfloat162float(u[e]));
  *reinterpret_cast<uint4*>(out + r * cols + c) = o4;
}

struct ColumnSplits {
  ColumnSplit out[kMaxColumnSplits];
  int num;
};
// One thread per 16-byte chunk of src.
__global__ void split_columns_kernel(const bf16* src, int rows, int src_cols, ColumnSplits s) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int chunks = src_cols / 8;
  if (i >= static_cast<int64_t>(rows) * chunks) return;
  const int64_t r = i / chunks;
  int c = static_cast<int>(i % chunks) * 8, k = 0;
  while (k + 1 < s.num && c >= s.out[k].cols) c -= s.out[k++].cols;
  *reinterpret_cast<uint4*>(static_cast<bf16*>(s.out[k].dst) + r * s.out[k].cols + c) =
      *reinterpret_cast<const uint4*>(src + r * src_cols + (i % chunks) * 8);
}

__global__ void kv_write_kernel(const bf16* k, const bf16* v, const int* slots, int n, int row, bf16* kc, bf16* vc) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(n) * row) return;
  const int64_t t = i / row, c = i % row;
  const int64_t dst = static_cast<int64_t>(slots[t]) * row + c;
  kc[dst] = k[i];
  vc[dst] = v[i];
}

__global__ void gather_kernel(const char* x, const int* rows, int n, int64_t row_bytes, char* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n * row_bytes) return;
  const int64_t r = i / row_bytes, c = i % row_bytes;
  out[i] = x[static_cast<int64_t>(rows[r]) * row_bytes + c];
}

__global__ void moe_combine_kernel(const bf16* y, const int* pos, const float* weights, int n, int k, int hidden,
                                   bf16* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<int64_t>(n) * hidden) return;
  const int64_t t = i / hidden, c = i % hidden;
  float acc = 0.f;  // the sum of scatter_add_weighted calls in slot order, then f32_to_bf16
  for (int j = 0; j < k; ++j) {
    const int p = pos[t * k + j];
    if (p >= 0) acc += weights[t * k + j] * __bfloat162float(y[static_cast<int64_t>(p) * hidden + c]);
  }
  out[i] = __float2bfloat16(acc);
}

// One CTA (128 threads) per (token, head). Scores of the visible keys are computed a chunk of 128
// keys at a time (one key per thread), then V is accumulated with an online softmax (fp32).
__global__ void attention_simple_kernel(AttentionParams p) {
  const int t = blockIdx.x, h = blockIdx.y;
  int s = 0;
  while (p.cu_seqlens_q[s + 1] <= t) ++s;
  const int pos = p.positions[t];
  const bool gen = p.generated[t] != 0;
  const int group = p.num_heads / p.num_kv_heads, kvh = h / group, D = p.head_dim;
  int sink_end = 0, win_begin = 0;
  if (p.sliding && !(gen && p.fa_decode)) {
    win_begin = max(0, pos - p.window + 1);
    sink_end = min(p.keep_first, win_begin);
  }
  const int n_keys = sink_end + (pos + 1 - win_begin);
  const bf16* q = static_cast<const bf16*>(p.q) + (static_cast<int64_t>(t) * p.num_heads + h) * D;
  __shared__ float qs[256];
  __shared__ float scores[128];
  __shared__ float acc[256];
  __shared__ float run_max, run_sum;
  for (int c = threadIdx.x; c < D; c += blockDim.x) {
    qs[c] = __bfloat162float(q[c]);
    acc[c] = 0.f;
  }
  if (threadIdx.x == 0) {
    run_max = -INFINITY;
    run_sum = 0.f;
  }
  __syncthreads();
  const bf16* kc = static_cast<const bf16*>(p.k_cache);
  const bf16* vc = static_cast<const bf16*>(p.v_cache);
  auto slot_of = [&](int i) {
    const int j = i < sink_end ? i : win_begin + (i - sink_end);
    const int block = p.block_table[static_cast<int64_t>(s) * p.max_blocks + j / p.block_size];
    return static_cast<int64_t>(block) * p.block_size + j % p.block_size;
  };
  for (int base = 0; base < n_keys; base += 128) {
    const int i = base + threadIdx.x;
    float sc = -INFINITY;
    if (i < n_keys) {
      const bf16* k = kc + (slot_of(i) * p.num_kv_heads + kvh) * D;
      float dot = 0.f;
      for (int c = 0; c < D; ++c) dot += qs[c] * __bfloat162float(k[c]);
      sc = dot * p.softmax_scale;
    }
    scores[threadIdx.x] = sc;
    __syncthreads();
    __shared__ float new_max, scale_old;
    if (threadIdx.x == 0) {
      float m = run_max;
      for (int k = 0; k < 128; ++k) m = fmaxf(m, scores[k]);
      scale_old = __expf(run_max - m);
      new_max = m;
    }
    __syncthreads();
    scores[threadIdx.x] = i < n_keys ? __expf(sc - new_max) : 0.f;
    __syncthreads();
    if (threadIdx.x == 0) {
      float sum = 0.f;
      for (int k = 0; k < 128; ++k) sum += scores[k];
      run_sum = run_sum * scale_old + sum;
      run_max = new_max;
    }
    const int valid = min(128, n_keys - base);
    for (int c = threadIdx.x; c < D; c += blockDim.x) {
      float a = acc[c] * scale_old;
      for (int k = 0; k < valid; ++k) {
        const bf16* v = vc + (slot_of(base + k) * p.num_kv_heads + kvh) * D;
        a += scores[k] * __bfloat162float(v[c]);
      }
      acc[c] = a;
    }
    __syncthreads();
  }
  bf16* o = static_cast<bf16*>(p.out) + (static_cast<int64_t>(t) * p.num_heads + h) * D;
  for (int c = threadIdx.x; c < D; c += blockDim.x) o[c] = __float2bfloat16(acc[c] / run_sum);
}

}  // namespace

std::string embedding(const void* table, const int32_t* ids, int n, int hidden, void* out, void* stream) {
  const int64_t total = static_cast<int64_t>(n) * hidden;
  if (total == 0) return "";
  embedding_kernel<<<blocks_for(total, 256), 256, 0, st(stream)>>>(static_cast<const bf16*>(table), ids, n, hidden,
                                                                   static_cast<bf16*>(out));
  return check("embedding");
}

std::string rms_norm(const void* x, const void* w, int rows, int d, float eps, void* out, void* stream) {
  if (rows == 0) return "";
  rms_norm_kernel<<<rows, d >= 1024 ? 1024 : ((d + 31) / 32) * 32, 0, st(stream)>>>(
      static_cast<const bf16*>(x), static_cast<const bf16*>(w), d, eps, static_cast<bf16*>(out));
  return check("rms_norm");
}

std::string add_bias(void* x, bool x_f32, const void* bias, int rows, int cols, void* stream) {
  const int64_t total = static_cast<int64_t>(rows) * cols;
  if (total == 0) return "";
  add_bias_kernel<<<blocks_for(total, 256), 256, 0, st(stream)>>>(x, x_f32, static_cast<const bf16*>(bias), total, cols);
  return check("add_bias");
}

std::string add_inplace(void* x, const void* y, int64_t n, void* stream) {
  if (n == 0) return "";
  add_kernel<<<blocks_for(n, 256), 256, 0, st(stream)>>>(static_cast<bf16*>(x), static_cast<const bf16*>(y), n);
  return check("add_inplace");
}

std::string rope(void* x, const int* positions, const float* inv_freq, int n, int heads, int d, float scaling,
                 void* stream) {
  if (n == 0) return "";
  rope_kernel<<<n, 128, 0, st(stream)>>>(static_cast<bf16*>(x), positions, inv_freq, heads, d, scaling);
  return check("rope");
}

std::string silu_mul(const void* gate, const void* up, void* out, int64_t n, void* stream) {
  if (n == 0) return "";
  silu_mul_kernel<<<blocks_for(n, 256), 256, 0, st(stream)>>>(static_cast<const bf16*>(gate),
                                                              static_cast<const bf16*>(up), static_cast<bf16*>(out), n);
  return check("silu_mul");
}

std::string silu_mul_stacked(const void* gate_up, void* out, int rows, int cols, void* stream) {
  if (rows == 0) return "";
  if (cols % 8 != 0) return "silu_mul_stacked: cols must be a multiple of 8, got " + std::to_string(cols);
  const int64_t n = static_cast<int64_t>(rows) * (cols / 8);
  silu_mul_stacked_kernel<<<blocks_for(n, 256), 256, 0, st(stream)>>>(static_cast<const bf16*>(gate_up),
                                                                      static_cast<bf16*>(out), rows, cols);
  return check("silu_mul_stacked");
}

std::string split_columns(const void* src, int rows, int src_cols, const ColumnSplit* outs, int num_outs,
                          void* stream) {
  if (rows == 0) return "";
  if (num_outs < 1 || num_outs > kMaxColumnSplits) {
    return "split_columns: 1 to " + std::to_string(kMaxColumnSplits) + " outputs, got " + std::to_string(num_outs);
  }
  ColumnSplits s{};
  int total = 0;
  for (int k = 0; k < num_outs; ++k) {
    if (outs[k].cols % 8 != 0) return "split_columns: widths must be multiples of 8, got " + std::to_string(outs[k].cols);
    s.out[k] = outs[k];
    total += outs[k].cols;
  }
  s.num = num_outs;
  if (total != src_cols) {
    return "split_columns: the outputs' widths sum to " + std::to_string(total) + ", not src_cols " +
           std::to_string(src_cols);
  }
  const int64_t n = static_cast<int64_t>(rows) * (src_cols / 8);
  split_columns_kernel<<<blocks_for(n, 256), 256, 0, st(stream)>>>(static_cast<const bf16*>(src), rows, src_cols, s);
  return check("split_columns");
}

std::string kv_write(const void* k, const void* v, const int* slots, int n, int row, void* k_cache, void* v_cache,
                     void* stream) {
  const int64_t total = static_cast<int64_t>(n) * row;
  if (total == 0) return "";
  kv_write_kernel<<<blocks_for(total, 256), 256, 0, st(stream)>>>(static_cast<const bf16*>(k), static_cast<const bf16*>(v),
                                                                  slots, n, row, static_cast<bf16*>(k_cache),
                                                                  static_cast<bf16*>(v_cache));
  return check("kv_write");
}

std::string gather_rows(const void* x, bool f32, const int* rows, int n, int cols, void* out, void* stream) {
  const int64_t row_bytes = static_cast<int64_t>(cols) * (f32 ? 4 : 2);
  if (n == 0) return "";
  gather_kernel<<<blocks_for(n * row_bytes, 256), 256, 0, st(stream)>>>(static_cast<const char*>(x), rows, n, row_bytes,
                                                                        static_cast<char*>(out));
  return check("gather_rows");
}

std::string moe_combine(const void* y, const int* pos, const float* weights, int n, int k, int hidden, void* out,
                        void* stream) {
  const int64_t total = static_cast<int64_t>(n) * hidden;
  if (total == 0) return "";
  moe_combine_kernel<<<blocks_for(total, 256), 256, 0, st(stream)>>>(static_cast<const bf16*>(y), pos, weights, n, k,
                                                                     hidden, static_cast<bf16*>(out));
  return check("moe_combine");
}

namespace {

// One CTA per row: each thread scans a strided share (16-byte loads where the row is aligned), then
// warp and block reductions keep (value, index) with ties to the lower index.
constexpr int kArgmaxThreads = 1024;
struct ValIdx {
  float v;
  int i;
};
__device__ __forceinline__ ValIdx better(ValIdx a, ValIdx b) {
  return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a;
}
__global__ void __launch_bounds__(kArgmaxThreads) argmax_rows_kernel(const float* x, int cols, int32_t* out) {
  const float* row = x + static_cast<int64_t>(blockIdx.x) * cols;
  ValIdx best = {-INFINITY, INT_MAX};
  auto take = [&](float v, int i) {
    if (v != v) v = -INFINITY;  // NaN
    best = better(best, {v, i});
  };
  const int tid = threadIdx.x;
  int head = 0;  // elements before the first 16-byte boundary
  if (reinterpret_cast<uintptr_t>(row) % 16 != 0) head = min(cols, static_cast<int>((16 - reinterpret_cast<uintptr_t>(row) % 16) / 4));
  if (tid < head) take(row[tid], tid);
  const int vec = (cols - head) / 4;
  const float4* row4 = reinterpret_cast<const float4*>(row + head);
  for (int j = tid; j < vec; j += kArgmaxThreads) {
    const float4 q = row4[j];
    const int i = head + 4 * j;
    take(q.x, i), take(q.y, i + 1), take(q.z, i + 2), take(q.w, i + 3);
  }
  for (int i = head + 4 * vec + tid; i < cols; i += kArgmaxThreads) take(row[i], i);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    best = better(best, {__shfl_xor_sync(0xffffffffu, best.v, off), __shfl_xor_sync(0xffffffffu, best.i, off)});
  }
  __shared__ ValIdx warp_best[kArgmaxThreads / 32];
  if (tid % 32 == 0) warp_best[tid / 32] = best;
  __syncthreads();
  if (tid < 32) {
    best = warp_best[tid];
#pragma unroll
    for (int off = 16; off > 0; off /= 2) {
      best = better(best, {__shfl_xor_sync(0xffffffffu, best.v, off), __shfl_xor_sync(0xffffffffu, best.i, off)});
    }
    if (tid == 0) out[blockIdx.x] = best.i == INT_MAX ? 0 : best.i;
  }
}

}  // namespace

std::string argmax_rows(const float* x, int rows, int cols, int32_t* out, void* stream) {
  if (rows == 0) return "";
  if (cols < 1) return "argmax_rows: cols must be >= 1, got " + std::to_string(cols);
  argmax_rows_kernel<<<rows, kArgmaxThreads, 0, st(stream)>>>(x, cols, out);
  return check("argmax_rows");
}

std::string attention_simple(const AttentionParams& p, void* stream) {
  if (p.head_dim > 256) return "attention_simple: head_dim must be <= 256, got " + std::to_string(p.head_dim);
  if (p.num_tokens == 0) return "";
  attention_simple_kernel<<<dim3(p.num_tokens, p.num_heads), 128, 0, st(stream)>>>(p);
  return check("attention_simple");
}

}  // namespace swaa::cuda
