// Mixture-of-experts FFN of a decode step on the device (see ops.h): router top-k, the selected
// experts' gate/up/SwiGLU, and their down projections combined with the routing weights, with no
// copy to the host. Each (token, expert slot) pair reads its expert's rows directly through a
// device table of expert pointers, so a step of a few tokens reads only the experts it routes to.
// For prompt chunks (many tokens per expert) the backend keeps the host-routed grouped GEMMs.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cfloat>

#include "gemv_common.cuh"
#include "ops.h"

namespace swaa::cuda {
namespace {

using namespace gemv_common;

// One warp per token: softmax over the experts in fp32, then top_k rounds of arg-max (ties to the
// lower id), as route_top_k on the host (moe_routing.h).
__global__ void __launch_bounds__(32) moe_route_kernel(const float* logits, int num_experts, int top_k, bool norm,
                                                       int* ids, float* weights) {
  extern __shared__ float prob[];  // [num_experts]
  const int t = blockIdx.x, lane = threadIdx.x;
  const float* row = logits + static_cast<long long>(t) * num_experts;
  float mx = -FLT_MAX;
  for (int e = lane; e < num_experts; e += 32) mx = fmaxf(mx, row[e]);
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  float sum = 0.f;
  for (int e = lane; e < num_experts; e += 32) sum += (prob[e] = __expf(row[e] - mx));
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  __syncwarp();
  for (int e = lane; e < num_experts; e += 32) prob[e] /= sum;
  __syncwarp();
  float top_sum = 0.f;
  for (int k = 0; k < top_k; ++k) {
    float best = -1.f;
    int best_id = num_experts;
    for (int e = lane; e < num_experts; e += 32) {
      if (prob[e] > best || (prob[e] == best && e < best_id)) best = prob[e], best_id = e;
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float ob = __shfl_xor_sync(0xffffffffu, best, o);
      const int oi = __shfl_xor_sync(0xffffffffu, best_id, o);
      if (ob > best || (ob == best && oi < best_id)) best = ob, best_id = oi;
    }
    top_sum += best;  // every lane holds the same winner
    if (lane == 0) {
      ids[t * top_k + k] = best_id;
      weights[t * top_k + k] = best;
      prob[best_id] = -2.f;  // out of the next rounds
    }
    __syncwarp();
  }
  if (norm && lane < top_k) weights[t * top_k + lane] /= top_sum;
}

// h[p, :] = silu(x[t] @ gate[e]^T) * (x[t] @ up[e]^T) for pair p = t * top_k + s, e = ids[p].
// blockIdx.y = pair; features split over warps as gemv.cu.
__global__ void __launch_bounds__(kWarps * 32) moe_swiglu_kernel(const bf16* x, int top_k, int hidden, int inter,
                                                                 int ks, const int* ids, const bf16* const* gate,
                                                                 const bf16* const* up, bf16* h) {
  __shared__ float red[2][kWarps][1];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, part = warp % ks;
  const int row = blockIdx.x * (kWarps / ks) + warp / ks;
  const int pair = blockIdx.y, t = pair / top_k, e = ids[pair];
  const bool active = row < inter;
  const int chunks = hidden / 8, begin = chunks * part / ks, end = chunks * (part + 1) / ks;
  float g[1] = {0.f}, u[1] = {0.f};
  if (active) {
    const long long off = static_cast<long long>(row) * hidden;
    const bf16* xt = x + static_cast<long long>(t) * hidden;
    dot_rows<1, 4>(xt, reinterpret_cast<const uint4*>(gate[e] + off), hidden, 1, begin, end, lane, g);
    dot_rows<1, 4>(xt, reinterpret_cast<const uint4*>(up[e] + off), hidden, 1, begin, end, lane, u);
  }
  reduce<1>(g, red[0], warp, part, ks);
  reduce<1>(u, red[1], warp, part, ks);
  if (!active || part != 0 || lane != 0) return;
  h[static_cast<long long>(pair) * inter + row] =
      silu_times(__bfloat162float(__float2bfloat16(g[0])), __bfloat162float(__float2bfloat16(u[0])));
}

// out[t, r] = bf16(sum_s weights[t, s] * bf16(h[t * top_k + s] @ down[e_s][r]^T)); blockIdx.y = t.
template <int kMaxSlots>
__global__ void __launch_bounds__(kWarps * 32) moe_down_kernel(const bf16* h, int top_k, int hidden, int inter, int ks,
                                                               const int* ids, const float* weights,
                                                               const bf16* const* down, bf16* out) {
  __shared__ float red[kWarps][kMaxSlots];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, part = warp % ks;
  const int row = blockIdx.x * (kWarps / ks) + warp / ks;
  const int t = blockIdx.y;
  const bool active = row < hidden;
  const int chunks = inter / 8, begin = chunks * part / ks, end = chunks * (part + 1) / ks;
  float acc[kMaxSlots];
#pragma unroll
  for (int s = 0; s < kMaxSlots; ++s) acc[s] = 0.f;
  if (active) {
#pragma unroll
    for (int s = 0; s < kMaxSlots; ++s) {
      if (s >= top_k) break;
      const int pair = t * top_k + s;
      float one[1] = {0.f};
      dot_rows<1, 4>(h + static_cast<long long>(pair) * inter,
                     reinterpret_cast<const uint4*>(down[ids[pair]] + static_cast<long long>(row) * inter), inter, 1,
                     begin, end, lane, one);
      acc[s] = one[0];
    }
  }
  reduce<kMaxSlots>(acc, red, warp, part, ks);
  if (!active || part != 0 || lane != 0) return;
  float o = 0.f;
#pragma unroll
  for (int s = 0; s < kMaxSlots; ++s) {
    if (s >= top_k) break;
    o = fmaf(weights[t * top_k + s], __bfloat162float(__float2bfloat16(acc[s])), o);
  }
  out[static_cast<long long>(t) * hidden + row] = __float2bfloat16(o);
}

std::string check(const char* what) {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? std::string() : std::string(what) + ": " + cudaGetErrorString(e);
}

}  // namespace

std::string moe_route(const float* logits, int n, int num_experts, int top_k, bool norm_topk_prob, int* ids,
                      float* weights, void* stream) {
  if (num_experts < 1 || num_experts > kMoeMaxExperts || top_k < 1 || top_k > num_experts || top_k > 32) {
    return "moe_route: needs 1 <= top_k <= min(32, experts) and experts <= " + std::to_string(kMoeMaxExperts) +
           "; got top_k " + std::to_string(top_k) + ", experts " + std::to_string(num_experts);
  }
  if (n == 0) return "";
  moe_route_kernel<<<n, 32, num_experts * sizeof(float), static_cast<cudaStream_t>(stream)>>>(
      logits, num_experts, top_k, norm_topk_prob, ids, weights);
  return check("moe_route");
}

std::string moe_experts(const void* x, int n, int top_k, int hidden, int inter, const int* ids, const float* weights,
                        const void* const* gate, const void* const* up, const void* const* down, void* h, void* out,
                        void* stream) {
  if (top_k < 1 || top_k > kMoeMaxSlots || hidden % 8 != 0 || inter % 8 != 0) {
    return "moe_experts: needs 1 <= top_k <= " + std::to_string(kMoeMaxSlots) +
           " and hidden, intermediate multiples of 8; got top_k " + std::to_string(top_k) + ", hidden " +
           std::to_string(hidden) + ", intermediate " + std::to_string(inter);
  }
  if (n == 0) return "";
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  const int pairs = n * top_k;
  int ks = split_for(inter * pairs, hidden);
  moe_swiglu_kernel<<<dim3((inter + kWarps / ks - 1) / (kWarps / ks), pairs), kWarps * 32, 0, s>>>(
      static_cast<const bf16*>(x), top_k, hidden, inter, ks, ids, reinterpret_cast<const bf16* const*>(gate),
      reinterpret_cast<const bf16* const*>(up), static_cast<bf16*>(h));
  std::string e = check("moe_experts (gate/up)");
  if (!e.empty()) return e;
  ks = split_for(hidden * n, inter);
  moe_down_kernel<kMoeMaxSlots><<<dim3((hidden + kWarps / ks - 1) / (kWarps / ks), n), kWarps * 32, 0, s>>>(
      static_cast<const bf16*>(h), top_k, hidden, inter, ks, ids, weights, reinterpret_cast<const bf16* const*>(down),
      static_cast<bf16*>(out));
  return check("moe_experts (down)");
}

}  // namespace swaa::cuda
