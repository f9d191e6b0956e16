// Log-probabilities of drawn tokens on the device (ops.h, row_logprobs): compute_logprobs' rule
// (src/sampling/logprobs.h) for the rows of a step that report them, so those steps need not copy
// their logits to the host.
//
// Two kernels. The first splits each row into chunks of kChunk logits, one CTA each, every thread
// loading its kPerThread logits at once (one memory round trip): the chunk's maximum, its sum of
// exp(x - max) (fp32 exponentials, fp64 sum) and its num_top best entries. The second, one warp
// per row, combines a row's chunks: the log normaliser max + log(sum of the chunks' sums rescaled
// to the row's max), and the row's num_top best of the chunks' candidates. Best entries are merged
// warp by warp from sorted per-lane lists in registers: each round the lanes' heads meet in a warp
// reduction and the winning lane pops its head. Rank order is logit descending, ties by id
// ascending; NaN logits never rank.
// Tests: tests/kernels/draw_kernel_test.cc (against compute_logprobs on the host).
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <string>

#include "ops.h"

namespace swaa::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kPerThread = 8;
constexpr int kChunk = kThreads * kPerThread;
constexpr int kTop = kMaxTopLogprobs;

struct alignas(16) ChunkPartial {
  float max;
  double sum;  // of exp(x - max) over the chunk
  float top_v[kTop];
  int top_id[kTop];
};
// The combine reads a chunk's candidates as 16-byte vectors.
static_assert(kTop % 4 == 0 && offsetof(ChunkPartial, top_v) % 16 == 0 && offsetof(ChunkPartial, top_id) % 16 == 0);

// Whether (a, ia) ranks before (b, ib).
__device__ __forceinline__ bool ranks_before(float a, int ia, float b, int ib) {
  return a > b || (a == b && ia < ib);
}
constexpr int kNoId = INT_MAX;  // ranks after every real entry, -inf ones included

// Inserts (x, i) into the sorted list (v, id) of K entries if it ranks before the last one.
template <int K>
__device__ __forceinline__ void insert(float (&v)[K], int (&id)[K], float x, int i) {
  if (!ranks_before(x, i, v[K - 1], id[K - 1])) return;
  v[K - 1] = x, id[K - 1] = i;
#pragma unroll
  for (int j = K - 1; j > 0; --j) {
    if (ranks_before(v[j], id[j], v[j - 1], id[j - 1])) {
      const float tv = v[j];
      const int ti = id[j];
      v[j] = v[j - 1], id[j] = id[j - 1];
      v[j - 1] = tv, id[j - 1] = ti;
    }
  }
}

// The warp's num_top best entries of its lanes' sorted lists, in order, to lane 0's out_v/out_id
// (the lists are consumed). Every lane of the warp calls it.
template <int K>
__device__ __forceinline__ void warp_merge(float (&v)[K], int (&id)[K], int num_top, float* out_v, int* out_id) {
  const int lane = threadIdx.x % 32;
  for (int r = 0; r < num_top; ++r) {
    float bv = v[0];
    int bi = id[0];
#pragma unroll
    for (int off = 16; off > 0; off /= 2) {
      const float ov = __shfl_xor_sync(0xffffffffu, bv, off);
      const int oi = __shfl_xor_sync(0xffffffffu, bi, off);
      if (ranks_before(ov, oi, bv, bi)) bv = ov, bi = oi;
    }
    if (lane == 0) out_v[r] = bv, out_id[r] = bi;
    if (id[0] == bi) {  // ids are distinct: one lane pops its head
#pragma unroll
      for (int j = 0; j + 1 < K; ++j) v[j] = v[j + 1], id[j] = id[j + 1];
      v[K - 1] = -INFINITY, id[K - 1] = kNoId;
    }
  }
}

__global__ void __launch_bounds__(kThreads) chunk_kernel(const float* x, int cols, int num_top, ChunkPartial* parts) {
  const int i = blockIdx.y, chunk = blockIdx.x, tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const float* row = x + static_cast<size_t>(i) * cols;
  const int base = chunk * kChunk + tid;
  float v[kPerThread];
#pragma unroll
  for (int e = 0; e < kPerThread; ++e) {
    const int c = base + e * kThreads;
    v[e] = c < cols ? row[c] : -INFINITY;
  }
  __shared__ float warp_max[kWarps];
  __shared__ double warp_sum[kWarps];
  __shared__ float list_v[kWarps][kTop];
  __shared__ int list_id[kWarps][kTop];
  float mx = -INFINITY;  // fmaxf skips NaN, as the host's std::max(mx, x) does
#pragma unroll
  for (int e = 0; e < kPerThread; ++e) mx = fmaxf(mx, v[e]);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  if (lane == 0) warp_max[warp] = mx;
  __syncthreads();
  mx = warp_max[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) mx = fmaxf(mx, warp_max[w]);
  double sum = 0;
  if (mx != -INFINITY) {  // a chunk of only -inf adds nothing (exp(-inf - (-inf)) would be NaN)
#pragma unroll
    for (int e = 0; e < kPerThread; ++e) sum += static_cast<double>(expf(v[e] - mx));
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) warp_sum[warp] = sum;
  ChunkPartial& out = parts[static_cast<size_t>(i) * gridDim.x + chunk];
  if (num_top > 0) {
    float tv[kPerThread];
    int ti[kPerThread];
#pragma unroll
    for (int e = 0; e < kPerThread; ++e) tv[e] = -INFINITY, ti[e] = kNoId;
#pragma unroll
    for (int e = 0; e < kPerThread; ++e) {
      const int c = base + e * kThreads;
      if (c < cols && !isnan(v[e])) insert(tv, ti, v[e], c);
    }
    warp_merge(tv, ti, num_top, list_v[warp], list_id[warp]);
  }
  __syncthreads();
  if (warp == 0) {
    if (num_top > 0) {  // lane w < kWarps holds warp w's list
      float tv[kTop];
      int ti[kTop];
#pragma unroll
      for (int j = 0; j < kTop; ++j) {
        const bool have = lane < kWarps && j < num_top;
        tv[j] = have ? list_v[lane][j] : -INFINITY;
        ti[j] = have ? list_id[lane][j] : kNoId;
      }
      warp_merge(tv, ti, num_top, out.top_v, out.top_id);
    }
    if (lane == 0) {
      double total = 0;
      for (int w = 0; w < kWarps; ++w) total += warp_sum[w];
      out.max = mx, out.sum = total;
    }
  }
}

// One warp per row: its chunks' partials combined.
__global__ void __launch_bounds__(32) combine_kernel(const float* x, int cols, int chunks, const int* rows,
                                                    const int32_t* tokens, int num_top, const ChunkPartial* parts,
                                                    RowLogprobs* out) {
  const int i = blockIdx.x, lane = threadIdx.x;
  const ChunkPartial* p = parts + static_cast<size_t>(i) * chunks;
  float mx = -INFINITY;
  for (int c = lane; c < chunks; c += 32) mx = fmaxf(mx, p[c].max);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  double sum = 0;
  for (int c = lane; c < chunks; c += 32) {
    if (p[c].sum > 0) sum += p[c].sum * exp(static_cast<double>(p[c].max) - mx);
  }
#pragma unroll
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  RowLogprobs& o = out[i];
  if (num_top > 0) {
    float tv[kTop];
    int ti[kTop];
#pragma unroll
    for (int j = 0; j < kTop; ++j) tv[j] = -INFINITY, ti[j] = kNoId;
    for (int c = lane; c < chunks; c += 32) {
      float cv[kTop];  // all of a chunk's candidates in one round trip; those past num_top are unset
      int ci[kTop];
#pragma unroll
      for (int q = 0; q < kTop / 4; ++q) {
        const float4 a = reinterpret_cast<const float4*>(p[c].top_v)[q];
        const int4 b = reinterpret_cast<const int4*>(p[c].top_id)[q];
        cv[4 * q] = a.x, cv[4 * q + 1] = a.y, cv[4 * q + 2] = a.z, cv[4 * q + 3] = a.w;
        ci[4 * q] = b.x, ci[4 * q + 1] = b.y, ci[4 * q + 2] = b.z, ci[4 * q + 3] = b.w;
      }
#pragma unroll
      for (int j = 0; j < kTop; ++j) {
        if (j < num_top) insert(tv, ti, cv[j], ci[j]);
      }
    }
    warp_merge(tv, ti, num_top, o.top_logit, o.top_id);
  }
  if (lane == 0) {
    o.log_norm = static_cast<double>(mx) + log(sum);
    o.token_logit = x[static_cast<size_t>(i) * cols + tokens[rows[i]]];
    o.num_top = num_top;
  }
}

}  // namespace

size_t row_logprobs_workspace_bytes(int n, int cols) {
  return static_cast<size_t>(n) * ((cols + kChunk - 1) / kChunk) * sizeof(ChunkPartial);
}

std::string row_logprobs(const float* x, int n, int cols, const int* rows, const int32_t* tokens, int num_top,
                         void* workspace, RowLogprobs* out, void* stream) {
  if (n == 0) return "";
  if (cols < 1 || num_top < 0 || num_top > kMaxTopLogprobs || num_top > cols || n > 65535) {
    return "row_logprobs: needs cols >= 1, n <= 65535 and num_top in [0, min(" + std::to_string(kMaxTopLogprobs) +
           ", cols)]; got cols " + std::to_string(cols) + ", n " + std::to_string(n) + ", num_top " +
           std::to_string(num_top);
  }
  const int chunks = (cols + kChunk - 1) / kChunk;
  auto* parts = static_cast<ChunkPartial*>(workspace);
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  chunk_kernel<<<dim3(chunks, n), kThreads, 0, st>>>(x, cols, num_top, parts);
  combine_kernel<<<n, 32, 0, st>>>(x, cols, chunks, rows, tokens, num_top, parts, out);
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? "" : std::string("row_logprobs: ") + cudaGetErrorString(e);
}

}  // namespace swaa::cuda
