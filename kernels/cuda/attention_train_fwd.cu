// SWAA training attention, forward: out and the natural-log log-sum-exp per (head, row), which the
// backward recomputes P from. One CTA per (64-row query tile, query head, sequence), 256 threads,
// fp32 math on CUDA cores from bf16 tiles in shared memory (a correctness-first version; tensor
// cores are the next step). Invariant: a CTA walks exactly the key tiles of the union of its rows'
// sinks and windows (train_key_union), loading each explicitly; the mask is then applied per element
// with the prefill/decode kernels' row_range. Tests: tests/kernels/attention_train_test.cc.
#include <cuda_runtime.h>

#include "attention_mask.cuh"
#include "attention_train_common.cuh"
#include "attention_train_tiles.h"
#include "swaa_attention_train.h"

namespace swaa::cuda {
namespace {

using namespace train;

template <int kD>
constexpr int fwd_smem_bytes() {  // Q, K (padded), V, P
  return (2 * kTile * kRowStride<kD> + kTile * kD + kTile * kPStride) * 4;
}

// Thread (g, l) owns rows 4g + i (i < 4) of the tile: scores of keys l + 16c (c < 4) and output
// columns l + 16dd (dd < kD / 16). Online softmax in base 2 over the key tiles.
template <int kD>
__global__ void __launch_bounds__(kThreads) train_fwd_kernel(const __grid_constant__ TrainAttentionParams p) {
  constexpr int kS = kRowStride<kD>;
  constexpr int kDD = kD / 16;
  extern __shared__ float smem[];
  float* q_s = smem;               // [kTile][kS]   queries of the tile
  float* k_s = q_s + kTile * kS;   // [kTile][kS]   keys of the current key tile
  float* v_s = k_s + kTile * kS;   // [kTile][kD]   values of the current key tile
  float* p_s = v_s + kTile * kD;   // [kTile][kPStride] probabilities, [row][key]

  const int seq = blockIdx.z, head = blockIdx.y;
  const int m_block = gridDim.x - 1 - blockIdx.x;  // longest causal rows first
  const int begin = p.cu_seqlens[seq];
  const int len = p.cu_seqlens[seq + 1] - begin;
  const int m0 = m_block * kTile;
  if (m0 >= len) return;
  const int rows = min(kTile, len - m0);
  const int prompt = p.prompt_lens[seq];
  const int kv_head = head / (p.num_heads / p.num_kv_heads);
  const int g = threadIdx.x / 16, l = threadIdx.x % 16;
  const long long q_stride = static_cast<long long>(p.num_heads) * kD;
  const long long kv_stride = static_cast<long long>(p.num_kv_heads) * kD;
  const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(p.q) + (begin + m0) * q_stride + head * kD;
  const __nv_bfloat16* k = static_cast<const __nv_bfloat16*>(p.k) + begin * kv_stride + kv_head * kD;
  const __nv_bfloat16* v = static_cast<const __nv_bfloat16*>(p.v) + begin * kv_stride + kv_head * kD;

  load_tile<kD>(q_s, kS, q, q_stride, rows);
  const KeyUnion keys = train_key_union(p, m0, m0 + rows, prompt);
  const TileList tiles = make_tile_list<kTile>(keys.sink_end, keys.window_begin, keys.end);

  RowRange range[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int t = m0 + 4 * g + i;
    range[i] = row_range(p, t < len ? t : -1, t >= prompt);
  }
  float o[4][kDD], row_max[4], row_sum[4];  // row_max in base-2 scaled units; row_sum: this thread's keys
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    row_max[i] = -INFINITY;
    row_sum[i] = 0.f;
#pragma unroll
    for (int dd = 0; dd < kDD; ++dd) o[i][dd] = 0.f;
  }
  const float scale_log2 = p.softmax_scale * kLog2e;

  for (int it = 0; it < tiles.size(); ++it) {
    const int k0 = tiles.tile(it) * kTile;
    const int tile_keys = min(kTile, len - k0);
    __syncthreads();  // every thread is done with the previous tile's K, V and P
    load_tile<kD>(k_s, kS, k + k0 * kv_stride, kv_stride, tile_keys);
    load_tile<kD>(v_s, kD, v + k0 * kv_stride, kv_stride, tile_keys);
    __syncthreads();

    float s[4][4] = {};
    for (int d = 0; d < kD; ++d) {
      float kf[4];
#pragma unroll
      for (int c = 0; c < 4; ++c) kf[c] = k_s[(l + 16 * c) * kS + d];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float qf = q_s[(4 * g + i) * kS + d];
#pragma unroll
        for (int c = 0; c < 4; ++c) s[i][c] = fmaf(qf, kf[c], s[i][c]);
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        s[i][c] = key_visible(range[i], k0 + l + 16 * c) ? s[i][c] * scale_log2 : -INFINITY;
        mx = fmaxf(mx, s[i][c]);
      }
      const float new_max = fmaxf(row_max[i], half_warp_max(mx));
      const float base = new_max == -INFINITY ? 0.f : new_max;  // no key visible yet: keep zeros
      const float alpha = exp2f(row_max[i] - base);
      row_max[i] = new_max;
      float sum = 0.f;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float pr = exp2f(s[i][c] - base);
        p_s[(4 * g + i) * kPStride + l + 16 * c] = pr;
        sum += pr;
      }
      row_sum[i] = fmaf(row_sum[i], alpha, sum);
#pragma unroll
      for (int dd = 0; dd < kDD; ++dd) o[i][dd] *= alpha;
    }
    __syncthreads();  // P of the whole tile written

    for (int j = 0; j < tile_keys; ++j) {
      float vf[kDD];
#pragma unroll
      for (int dd = 0; dd < kDD; ++dd) vf[dd] = v_s[j * kD + l + 16 * dd];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float pr = p_s[(4 * g + i) * kPStride + j];
#pragma unroll
        for (int dd = 0; dd < kDD; ++dd) o[i][dd] = fmaf(pr, vf[dd], o[i][dd]);
      }
    }
  }

  // Every row sees at least its own key, so the sums are > 0 and the log-sum-exp is finite.
  __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out) + (begin + m0) * q_stride + head * kD;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float sum = half_warp_sum(row_sum[i]);
    const int r = 4 * g + i;
    if (r >= rows) continue;
    const float inv = sum > 0.f ? 1.f / sum : 0.f;
#pragma unroll
    for (int dd = 0; dd < kDD; ++dd) out[r * q_stride + l + 16 * dd] = __float2bfloat16_rn(o[i][dd] * inv);
    if (l == 0) {
      p.lse[static_cast<long long>(head) * p.num_tokens + begin + m0 + r] = (row_max[i] + log2f(sum)) * kLn2;
    }
  }
}

template <int kD>
std::string launch_fwd(const TrainAttentionParams& p, cudaStream_t stream) {
  constexpr int kSmem = fwd_smem_bytes<kD>();
  cudaError_t err = cudaFuncSetAttribute(train_fwd_kernel<kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (err != cudaSuccess) return std::string("attention_train_forward: ") + cudaGetErrorString(err);
  const dim3 grid((p.max_seqlen + kTile - 1) / kTile, p.num_heads, p.num_seqs);
  train_fwd_kernel<kD><<<grid, kThreads, kSmem, stream>>>(p);
  err = cudaGetLastError();
  if (err != cudaSuccess) return std::string("attention_train_forward: launch failed: ") + cudaGetErrorString(err);
  return "";
}

}  // namespace

std::string attention_train_forward(const TrainAttentionParams& p, void* stream) {
  const std::string err = validate_train_attention_params(p, false);
  if (!err.empty()) return "attention_train_forward: " + err;
  if (p.num_tokens == 0) return "";
  const auto s = static_cast<cudaStream_t>(stream);
  return p.head_dim == 64 ? launch_fwd<64>(p, s) : launch_fwd<128>(p, s);
}

}  // namespace swaa::cuda
