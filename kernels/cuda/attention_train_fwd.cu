// SWAA training attention, forward: out and the natural-log log-sum-exp per (head, row), which the
// backward recomputes P from. FlashAttention-2 style on tensor cores, the prefill kernel's scheme
// over contiguous varlen K/V: one CTA per (128-row query tile, query head, sequence), 4 warps x 32
// rows, 64-key tiles double-buffered with cp.async, mma.sync bf16 -> fp32, online softmax in base 2.
// Invariant: a CTA walks exactly the key tiles of the union of its rows' sinks and windows
// (train_key_union), loading each explicitly into the stage it computes from; keys no row needs are
// zero-filled, never read; the mask is applied per element with row_range in tiles not entirely
// visible. Tests: tests/kernels/attention_train_test.cc.
#include <cuda_runtime.h>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "attention_train_tiles.h"
#include "swaa_attention_train.h"

namespace swaa::cuda {
namespace {

constexpr int kBM = 128;  // query rows per CTA
constexpr int kBN = 64;   // keys per tile
constexpr int kMT = 2;    // m16 row tiles per warp
constexpr int kWarps = kBM / (16 * kMT);
constexpr int kFwdThreads = kWarps * 32;
constexpr int kStages = 2;

template <int kD>
constexpr int fwd_smem_bytes() {
  return (kBM + kStages * 2 * kBN) * kD * 2;
}

template <int kD>
__global__ void __launch_bounds__(kFwdThreads, 2) train_fwd_kernel(const __grid_constant__ TrainAttentionParams p) {
  constexpr int kChunks = kD / 8;
  constexpr int kDT = kD / 8;
  constexpr int kTileBytes = kBN * kD * 2;
  constexpr int kRowBytes = kChunks * 16;
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t q_smem = smem_u32(smem);
  const uint32_t kv_smem = q_smem + kBM * kD * 2;  // stage s: K at + 2s tiles, V at + (2s + 1) tiles

  const int seq = blockIdx.z, head = blockIdx.y;
  const int m_block = gridDim.x - 1 - blockIdx.x;  // longest causal rows first
  const int begin = p.cu_seqlens[seq];
  const int len = p.cu_seqlens[seq + 1] - begin;
  const int m0 = m_block * kBM;
  if (m0 >= len) return;
  const int rows = min(kBM, len - m0);
  const int prompt = p.prompt_lens[seq];
  const int kv_head = head / (p.num_heads / p.num_kv_heads);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const long long q_stride = static_cast<long long>(p.num_heads) * kD;
  const long long kv_stride = static_cast<long long>(p.num_kv_heads) * kD;
  const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(p.q) + (begin + m0) * q_stride + head * kD;
  const __nv_bfloat16* k = static_cast<const __nv_bfloat16*>(p.k) + begin * kv_stride + kv_head * kD;
  const __nv_bfloat16* v = static_cast<const __nv_bfloat16*>(p.v) + begin * kv_stride + kv_head * kD;

  const KeyUnion keys = train_key_union(p, m0, m0 + rows, prompt);
  const TileList tiles = make_tile_list<kBN>(keys.sink_end, keys.window_begin, keys.end);
  const int num_tiles = tiles.size();
  auto needed = [&](int key) { return key < len && (key < keys.sink_end || (key >= keys.window_begin && key < keys.end)); };
  const AllVisible all = train_all_visible(p, m0, rows, prompt);

  // Q tile (rows past len zero-filled), then the first K/V tile.
  for (int i = tid; i < kBM * kChunks; i += kFwdThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const bool valid = r < rows;
    cp_async16(q_smem + swz<kChunks>(r, c), q + (valid ? r * q_stride + c * 8 : 0), valid ? 16 : 0);
  }
  auto issue_kv = [&](int tile, int stage) {
    const int key0 = tiles.tile(tile) * kBN;
    const uint32_t ks = kv_smem + stage * 2 * kTileBytes, vs = ks + kTileBytes;
    for (int i = tid; i < kBN * kChunks; i += kFwdThreads) {
      const int r = i / kChunks, c = i % kChunks;
      const bool ok = needed(key0 + r);
      const long long off = ok ? (key0 + r) * kv_stride + c * 8 : 0;
      cp_async16(ks + swz<kChunks>(r, c), k + off, ok ? 16 : 0);
      cp_async16(vs + swz<kChunks>(r, c), v + off, ok ? 16 : 0);
    }
  };
  if (num_tiles > 0) issue_kv(0, 0);
  cp_async_commit();

  const int xy = (lane / 16) ^ (lane % 8);
  const int ky = ((lane / 8) % 2) ^ (lane % 8);
  const uint32_t q_lane = q_smem + (lane % 16) * kRowBytes;
  const uint32_t k_lane_off = ((lane / 16) * 8 + lane % 8) * kRowBytes;
  const uint32_t v_lane_off = (lane % 16) * kRowBytes;

  int row_t[kMT][2];  // local row index of the thread's C-fragment rows, -1 past len
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = m0 + warp * 16 * kMT + mt * 16 + lane / 4 + h * 8;
      row_t[mt][h] = r < len ? r : -1;
    }
  }
  float o[kMT][kDT][4];
  float row_max[kMT][2], row_sum[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int i = 0; i < kDT; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
    row_max[mt][0] = row_max[mt][1] = -INFINITY;
    row_sum[mt][0] = row_sum[mt][1] = 0.f;
  }
  const float scale_log2 = p.softmax_scale * kLog2e;

  for (int i = 0; i < num_tiles; ++i) {
    cp_async_wait<0>();
    __syncthreads();  // tile i landed for every thread; every warp is done with tile i - 1
    if (i + 1 < num_tiles) issue_kv(i + 1, (i + 1) % kStages);  // its stage was last read in i - 1
    cp_async_commit();
    const uint32_t k_tile = kv_smem + (i % kStages) * 2 * kTileBytes, v_tile = k_tile + kTileBytes;
    const int k0 = tiles.tile(i) * kBN;

    float s[kMT][kBN / 8][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
      for (int n = 0; n < kBN / 8; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
    }
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      uint32_t qa[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        ldmatrix_x4(q_lane + (warp * kMT + mt) * 16 * kRowBytes + (((kk * 2) ^ xy) << 4), qa[mt][0], qa[mt][1],
                    qa[mt][2], qa[mt][3]);
      }
#pragma unroll
      for (int np = 0; np < kBN / 16; ++np) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4(k_tile + k_lane_off + np * 16 * kRowBytes + (((kk * 2) ^ ky) << 4), b0, b1, b2, b3);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_bf16(s[mt][2 * np], qa[mt], b0, b1);
          mma_bf16(s[mt][2 * np + 1], qa[mt], b2, b3);
        }
      }
    }

    const bool tile_full = k0 + kBN <= all.end && (k0 >= all.window_begin || k0 + kBN <= all.sink_end);
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      if (!tile_full) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int t = row_t[mt][h];
          const RowRange rr = row_range(p, t, t >= prompt);
#pragma unroll
          for (int n = 0; n < kBN / 8; ++n) {
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              if (!key_visible(rr, k0 + n * 8 + (lane % 4) * 2 + e)) s[mt][n][2 * h + e] = -INFINITY;
            }
          }
        }
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) online_softmax_row<kBN, kDT>(s[mt], h, row_max[mt][h], row_sum[mt][h], o[mt], scale_log2);
    }

    uint32_t pk[kMT][kBN / 16][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) pack_c_to_a<kBN>(s[mt], pk[mt]);
    mma_pv<kMT, kBN, kD>(o, pk, v_tile + v_lane_off, xy);
  }
  cp_async_wait<0>();

  // Every row sees at least its own key, so the sums are > 0 and the log-sum-exp is finite.
  __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out) + begin * q_stride + head * kD;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float l = warp_sum4(row_sum[mt][h]);
      const int t = row_t[mt][h];
      if (t < 0) continue;
      const float inv = l > 0.f ? 1.f / l : 0.f;
      store_row_bf16<kDT>(out + t * q_stride, o[mt], h, inv, lane);
      if (lane % 4 == 0) {
        p.lse[static_cast<long long>(head) * p.num_tokens + begin + t] = (row_max[mt][h] * scale_log2 + log2f(l)) * kLn2;
      }
    }
  }
}

template <int kD>
std::string launch_fwd(const TrainAttentionParams& p, cudaStream_t stream) {
  constexpr int kSmem = fwd_smem_bytes<kD>();
  cudaError_t err = cudaFuncSetAttribute(train_fwd_kernel<kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (err != cudaSuccess) return std::string("attention_train_forward: ") + cudaGetErrorString(err);
  const dim3 grid((p.max_seqlen + kBM - 1) / kBM, p.num_heads, p.num_seqs);
  train_fwd_kernel<kD><<<grid, kFwdThreads, kSmem, stream>>>(p);
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
