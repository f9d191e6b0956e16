// SWAA training attention, backward (FlashAttention-2 algorithm): D = rowsum(dO * O); one CTA per
// (64-key tile, KV head, sequence) recomputes P = exp(S - lse) for every query tile that sees its keys
// and every query head of the group, accumulates dK, dV in registers and adds dQ into an fp32
// workspace with atomics; then dQ -> bf16. fp32 math on CUDA cores (correctness first).
// Invariant: a CTA walks exactly the query tiles of train_row_spans (prompt rows within the window,
// every row for sink key tiles, answer rows per fa_decode, causal), loading each explicitly.
// Tests: tests/kernels/attention_train_test.cc.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "attention_mask.cuh"
#include "attention_train_common.cuh"
#include "attention_train_tiles.h"
#include "swaa_attention_train.h"

namespace swaa::cuda {
namespace {

using namespace train;

constexpr size_t kAlign = 256;
size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// D[head, token] = sum_d dO[token, head, d] * O[token, head, d] in fp32: one warp per (token, head).
template <int kD>
__global__ void __launch_bounds__(256) train_bwd_dot_kernel(const __grid_constant__ TrainAttentionParams p,
                                                            float* dsum) {
  const long long row = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;  // token * H + head
  const int lane = threadIdx.x % 32;
  if (row >= static_cast<long long>(p.num_tokens) * p.num_heads) return;
  const __nv_bfloat16* o = static_cast<const __nv_bfloat16*>(p.out) + row * kD;
  const __nv_bfloat16* d_o = static_cast<const __nv_bfloat16*>(p.dout) + row * kD;
  float acc = 0.f;
#pragma unroll
  for (int d = lane; d < kD; d += 32) acc = fmaf(__bfloat162float(o[d]), __bfloat162float(d_o[d]), acc);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
  if (lane == 0) {
    const long long token = row / p.num_heads;
    const int head = static_cast<int>(row % p.num_heads);
    dsum[static_cast<long long>(head) * p.num_tokens + token] = acc;
  }
}

template <int kD>
constexpr int bwd_smem_bytes() {  // K, V, Q, dO (padded), P and dS [key][row], lse and D of the rows
  return (4 * kTile * kRowStride<kD> + 2 * kTile * kPStride + 2 * kTile) * 4;
}

// Thread (g, l): scores of keys 4g + i (i < 4) x rows l + 16c (c < 4); dK, dV of keys 4g + i and dQ
// of rows 4g + i, columns l + 16dd (dd < kD / 16).
template <int kD>
__global__ void __launch_bounds__(kThreads) train_bwd_kernel(const __grid_constant__ TrainAttentionParams p,
                                                             float* dq_accum, const float* dsum) {
  constexpr int kS = kRowStride<kD>;
  constexpr int kDD = kD / 16;
  extern __shared__ float smem[];
  float* k_s = smem;                 // [kTile][kS]  keys of this CTA
  float* v_s = k_s + kTile * kS;     // [kTile][kS]  values of this CTA
  float* q_s = v_s + kTile * kS;     // [kTile][kS]  queries of the current query tile
  float* do_s = q_s + kTile * kS;    // [kTile][kS]  dO of the current query tile
  float* p_s = do_s + kTile * kS;    // [kTile][kPStride] P, [key][row]
  float* ds_s = p_s + kTile * kPStride;  // [kTile][kPStride] dS = P * (dP - D), [key][row]
  float* lse_s = ds_s + kTile * kPStride;  // [kTile] lse of the rows, base 2
  float* dsum_s = lse_s + kTile;           // [kTile] D of the rows

  const int seq = blockIdx.z, kv_head = blockIdx.y;
  const int begin = p.cu_seqlens[seq];
  const int len = p.cu_seqlens[seq + 1] - begin;
  const int k0 = blockIdx.x * kTile;
  if (k0 >= len) return;
  const int tile_keys = min(kTile, len - k0);
  const int prompt = p.prompt_lens[seq];
  const int group = p.num_heads / p.num_kv_heads;
  const int tid = threadIdx.x, g = tid / 16, l = tid % 16;
  const long long q_stride = static_cast<long long>(p.num_heads) * kD;
  const long long kv_stride = static_cast<long long>(p.num_kv_heads) * kD;
  const long long kv_off = (begin + k0) * kv_stride + kv_head * kD;

  load_tile<kD>(k_s, kS, static_cast<const __nv_bfloat16*>(p.k) + kv_off, kv_stride, tile_keys);
  load_tile<kD>(v_s, kS, static_cast<const __nv_bfloat16*>(p.v) + kv_off, kv_stride, tile_keys);
  const SpanPair q_tiles = tiles_of(train_row_spans(p, k0, k0 + tile_keys, len, prompt), kTile);

  float dk[4][kDD], dv[4][kDD];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int dd = 0; dd < kDD; ++dd) dk[i][dd] = dv[i][dd] = 0.f;
  }
  const float scale_log2 = p.softmax_scale * kLog2e;

  for (int hh = 0; hh < group; ++hh) {
    const int head = kv_head * group + hh;
    for (int it = 0; it < q_tiles.size(); ++it) {
      const int m0 = q_tiles.at(it) * kTile;
      const int rows = min(kTile, len - m0);
      const long long q_off = (begin + m0) * q_stride + head * kD;
      __syncthreads();  // every thread is done with the previous query tile (and K, V are complete)
      load_tile<kD>(q_s, kS, static_cast<const __nv_bfloat16*>(p.q) + q_off, q_stride, rows);
      load_tile<kD>(do_s, kS, static_cast<const __nv_bfloat16*>(p.dout) + q_off, q_stride, rows);
      if (tid < kTile) {
        const long long idx = static_cast<long long>(head) * p.num_tokens + begin + m0 + tid;
        lse_s[tid] = tid < rows ? p.lse[idx] * kLog2e : 0.f;
        dsum_s[tid] = tid < rows ? dsum[idx] : 0.f;
      }
      __syncthreads();

      // S = Q K^T and dP = dO V^T for keys 4g + i, rows l + 16c; then P and dS to shared memory.
      float s[4][4] = {}, dp[4][4] = {};
      for (int d = 0; d < kD; ++d) {
        float qf[4], of[4];
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          qf[c] = q_s[(l + 16 * c) * kS + d];
          of[c] = do_s[(l + 16 * c) * kS + d];
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float kf = k_s[(4 * g + i) * kS + d], vf = v_s[(4 * g + i) * kS + d];
#pragma unroll
          for (int c = 0; c < 4; ++c) {
            s[i][c] = fmaf(qf[c], kf, s[i][c]);
            dp[i][c] = fmaf(of[c], vf, dp[i][c]);
          }
        }
      }
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int row = l + 16 * c, t = m0 + row;
        const RowRange range = row_range(p, t < len ? t : -1, t >= prompt);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int key = 4 * g + i;
          const float pr = key_visible(range, k0 + key) ? exp2f(fmaf(s[i][c], scale_log2, -lse_s[row])) : 0.f;
          p_s[key * kPStride + row] = pr;
          ds_s[key * kPStride + row] = pr * (dp[i][c] - dsum_s[row]);
        }
      }
      __syncthreads();

      // dV += P dO and dK += dS Q for keys 4g + i (dK scaled at the end).
      for (int r = 0; r < rows; ++r) {
        float of[kDD], qf[kDD];
#pragma unroll
        for (int dd = 0; dd < kDD; ++dd) {
          of[dd] = do_s[r * kS + l + 16 * dd];
          qf[dd] = q_s[r * kS + l + 16 * dd];
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float pr = p_s[(4 * g + i) * kPStride + r], ds = ds_s[(4 * g + i) * kPStride + r];
#pragma unroll
          for (int dd = 0; dd < kDD; ++dd) {
            dv[i][dd] = fmaf(pr, of[dd], dv[i][dd]);
            dk[i][dd] = fmaf(ds, qf[dd], dk[i][dd]);
          }
        }
      }
      // dQ += scale * dS^T K for rows 4g + i, into the fp32 workspace (other key tiles add theirs).
      float dq[4][kDD] = {};
      for (int j = 0; j < tile_keys; ++j) {
        float kf[kDD];
#pragma unroll
        for (int dd = 0; dd < kDD; ++dd) kf[dd] = k_s[j * kS + l + 16 * dd];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float ds = ds_s[j * kPStride + 4 * g + i];
#pragma unroll
          for (int dd = 0; dd < kDD; ++dd) dq[i][dd] = fmaf(ds, kf[dd], dq[i][dd]);
        }
      }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        if (4 * g + i >= rows) continue;
        float* dst = dq_accum + q_off + (4 * g + i) * q_stride + l;
#pragma unroll
        for (int dd = 0; dd < kDD; ++dd) atomicAdd(dst + 16 * dd, dq[i][dd] * p.softmax_scale);
      }
    }
  }

  // Every key sees at least its own row, so every key of the tile gets its gradient here.
  const long long out_off = (begin + k0) * kv_stride + kv_head * kD;
  __nv_bfloat16* dk_out = static_cast<__nv_bfloat16*>(p.dk) + out_off;
  __nv_bfloat16* dv_out = static_cast<__nv_bfloat16*>(p.dv) + out_off;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int key = 4 * g + i;
    if (key >= tile_keys) continue;
#pragma unroll
    for (int dd = 0; dd < kDD; ++dd) {
      dk_out[key * kv_stride + l + 16 * dd] = __float2bfloat16_rn(dk[i][dd] * p.softmax_scale);
      dv_out[key * kv_stride + l + 16 * dd] = __float2bfloat16_rn(dv[i][dd]);
    }
  }
}

__global__ void __launch_bounds__(256) f32_to_bf16_kernel(const float* in, __nv_bfloat16* out, long long n) {
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    out[i] = __float2bfloat16_rn(in[i]);
  }
}

std::string cuda_error(const char* what) {
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? "" : std::string("attention_train_backward: ") + what + ": " + cudaGetErrorString(err);
}

template <int kD>
std::string launch_bwd(const TrainAttentionParams& p, float* dq_accum, float* dsum, cudaStream_t stream) {
  const long long rows = static_cast<long long>(p.num_tokens) * p.num_heads;
  cudaError_t err = cudaMemsetAsync(dq_accum, 0, rows * kD * sizeof(float), stream);
  if (err != cudaSuccess) return std::string("attention_train_backward: memset: ") + cudaGetErrorString(err);
  train_bwd_dot_kernel<kD><<<static_cast<unsigned>((rows * 32 + 255) / 256), 256, 0, stream>>>(p, dsum);
  std::string msg = cuda_error("dO.O kernel");
  if (!msg.empty()) return msg;

  constexpr int kSmem = bwd_smem_bytes<kD>();
  err = cudaFuncSetAttribute(train_bwd_kernel<kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (err != cudaSuccess) return std::string("attention_train_backward: ") + cudaGetErrorString(err);
  const dim3 grid((p.max_seqlen + kTile - 1) / kTile, p.num_kv_heads, p.num_seqs);
  train_bwd_kernel<kD><<<grid, kThreads, kSmem, stream>>>(p, dq_accum, dsum);
  msg = cuda_error("main kernel");
  if (!msg.empty()) return msg;

  // Grid-stride conversion, at most 65536 CTAs x 256 threads (16M threads is far beyond what
  // saturates memory bandwidth on a 132-SM GPU).
  const long long n = rows * kD;
  const unsigned blocks = static_cast<unsigned>(std::min<long long>((n + 255) / 256, 65536));
  f32_to_bf16_kernel<<<blocks, 256, 0, stream>>>(dq_accum, static_cast<__nv_bfloat16*>(p.dq), n);
  return cuda_error("dQ conversion");
}

}  // namespace

size_t train_backward_workspace_bytes(const TrainAttentionParams& p) {
  const size_t rows = static_cast<size_t>(p.num_tokens < 0 ? 0 : p.num_tokens) * (p.num_heads < 0 ? 0 : p.num_heads);
  return align_up(rows * (p.head_dim < 0 ? 0 : p.head_dim) * sizeof(float)) + align_up(rows * sizeof(float));
}

std::string attention_train_backward(const TrainAttentionParams& p, void* workspace, void* stream) {
  const std::string err = validate_train_attention_params(p, true);
  if (!err.empty()) return "attention_train_backward: " + err;
  if (p.num_tokens == 0) return "";
  if (workspace == nullptr) return "attention_train_backward: workspace is null";
  if (reinterpret_cast<uintptr_t>(workspace) % kAlign != 0) {
    return "attention_train_backward: workspace must be 256-byte aligned";
  }
  auto* dq_accum = static_cast<float*>(workspace);
  auto* dsum = reinterpret_cast<float*>(static_cast<char*>(workspace) +
                                        align_up(static_cast<size_t>(p.num_tokens) * p.num_heads * p.head_dim * 4));
  const auto s = static_cast<cudaStream_t>(stream);
  return p.head_dim == 64 ? launch_bwd<64>(p, dq_accum, dsum, s) : launch_bwd<128>(p, dq_accum, dsum, s);
}

}  // namespace swaa::cuda
