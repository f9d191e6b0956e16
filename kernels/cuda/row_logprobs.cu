// Log-probabilities of drawn tokens on the device (ops.h, row_logprobs): compute_logprobs' rule
// (src/sampling/logprobs.h) for the rows of a step that report them, so those steps need not copy
// their logits to the host.
//
// One CTA per row, three passes over it (it stays in L2 between them): the maximum; the sum of
// exp(x - max), each exponential in fp32 and the sum in fp64; and, when alternatives are asked
// for, each thread's best kMaxTopLogprobs entries of its strided slice in registers (a sorted list,
// one compare-and-swap chain per entry that beats its last), which the CTA then merges in
// num_top rounds of a block-wide "best head". Rank order is logit descending, ties by id
// ascending; NaN logits never rank.
// Tests: tests/kernels/draw_kernel_test.cc (against compute_logprobs on the host).
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <string>

#include "ops.h"

namespace swaa::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kTop = kMaxTopLogprobs;

// Whether (a, ia) ranks before (b, ib).
__device__ __forceinline__ bool ranks_before(float a, int ia, float b, int ib) {
  return a > b || (a == b && ia < ib);
}

struct Ranked {
  float v;
  int id;
};
__device__ __forceinline__ Ranked warp_best(Ranked r) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2) {
    const float v = __shfl_xor_sync(0xffffffffu, r.v, off);
    const int id = __shfl_xor_sync(0xffffffffu, r.id, off);
    if (ranks_before(v, id, r.v, r.id)) r = {v, id};
  }
  return r;
}

__global__ void __launch_bounds__(kThreads) row_logprobs_kernel(const float* x, int cols, const int* rows,
                                                                const int32_t* tokens, int num_top,
                                                                RowLogprobs* out) {
  const int i = blockIdx.x, tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const float* row = x + static_cast<size_t>(i) * cols;
  __shared__ float warp_max[kWarps];
  __shared__ double warp_sum[kWarps];
  __shared__ Ranked warp_top[kWarps];
  __shared__ float cand_v[kTop][kThreads];  // [rank][thread]: a thread's sorted list, bank-friendly
  __shared__ int cand_id[kTop][kThreads];

  float mx = -INFINITY;  // fmaxf skips NaN, as the host's std::max(mx, x) does
  for (int c = tid; c < cols; c += kThreads) mx = fmaxf(mx, row[c]);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  if (lane == 0) warp_max[warp] = mx;
  __syncthreads();
  mx = warp_max[0];
#pragma unroll
  for (int w = 1; w < kWarps; ++w) mx = fmaxf(mx, warp_max[w]);

  double sum = 0;
  for (int c = tid; c < cols; c += kThreads) sum += static_cast<double>(expf(row[c] - mx));
#pragma unroll
  for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (lane == 0) warp_sum[warp] = sum;

  if (num_top > 0) {
    float v[kTop];
    int id[kTop];
#pragma unroll
    for (int j = 0; j < kTop; ++j) v[j] = -INFINITY, id[j] = INT_MAX;
    for (int c = tid; c < cols; c += kThreads) {
      const float l = row[c];
      if (!ranks_before(l, c, v[kTop - 1], id[kTop - 1])) continue;
      v[kTop - 1] = l, id[kTop - 1] = c;
#pragma unroll
      for (int j = kTop - 1; j > 0; --j) {
        if (ranks_before(v[j], id[j], v[j - 1], id[j - 1])) {
          const float tv = v[j];
          const int ti = id[j];
          v[j] = v[j - 1], id[j] = id[j - 1];
          v[j - 1] = tv, id[j - 1] = ti;
        }
      }
    }
#pragma unroll
    for (int j = 0; j < kTop; ++j) cand_v[j][tid] = v[j], cand_id[j][tid] = id[j];
  }
  __syncthreads();  // warp_sum and the candidate lists are in
  if (tid == 0) {
    double total = 0;
    for (int w = 0; w < kWarps; ++w) total += warp_sum[w];
    out[i].log_norm = static_cast<double>(mx) + log(total);
    out[i].token_logit = row[tokens[rows[i]]];
    out[i].num_top = num_top;
  }
  int head = 0;  // this thread's next candidate
  for (int r = 0; r < num_top; ++r) {
    Ranked best = head < kTop ? Ranked{cand_v[head][tid], cand_id[head][tid]} : Ranked{-INFINITY, INT_MAX};
    best = warp_best(best);
    if (lane == 0) warp_top[warp] = best;
    __syncthreads();
    best = warp_top[0];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) {
      if (ranks_before(warp_top[w].v, warp_top[w].id, best.v, best.id)) best = warp_top[w];
    }
    if (head < kTop && cand_id[head][tid] == best.id) ++head;  // ids are distinct: one thread advances
    if (tid == 0) out[i].top_id[r] = best.id, out[i].top_logit[r] = best.v;
    __syncthreads();  // warp_top is read before the next round writes it
  }
}

}  // namespace

std::string row_logprobs(const float* x, int n, int cols, const int* rows, const int32_t* tokens, int num_top,
                         RowLogprobs* out, void* stream) {
  if (n == 0) return "";
  if (cols < 1 || num_top < 0 || num_top > kMaxTopLogprobs || num_top > cols) {
    return "row_logprobs: needs cols >= 1 and num_top in [0, min(" + std::to_string(kMaxTopLogprobs) +
           ", cols)]; got cols " + std::to_string(cols) + ", num_top " + std::to_string(num_top);
  }
  row_logprobs_kernel<<<n, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(x, cols, rows, tokens, num_top, out);
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? "" : std::string("row_logprobs: ") + cudaGetErrorString(e);
}

}  // namespace swaa::cuda
