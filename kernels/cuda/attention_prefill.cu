// SWAA prefill attention: FlashAttention-2 style, one CTA per (128-query tile, query head, sequence),
// 8 warps x 16 query rows, 64-key tiles double-buffered with cp.async, mma.sync bf16 -> fp32, online
// softmax in base 2. Invariant: a CTA walks only the key tiles of the union of its rows' sinks and
// windows (TileList), loading each explicitly into the stage it computes from; the mask is decided
// per row (position, phase). Tests: tests/kernels/attention_kernel_test.cc.
#include <cuda_runtime.h>

#include <climits>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "swaa_attention.h"

namespace swaa::cuda {
namespace {

constexpr int kBM = 128;  // query rows per CTA (8 warps x 16)
constexpr int kBN = 64;   // keys per tile
constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr float kLog2e = 1.4426950408889634f;

template <int kD>
constexpr int prefill_smem_bytes() {
  return (kBM + 2 * 2 * kBN) * kD * 2;  // Q + 2 stages of K and V
}

// Loads key tile `tile` of K and V into one stage. Keys no row needs, past seqlen_k or in a
// released block are zero-filled without a global read.
template <int kD>
__device__ __forceinline__ void load_kv_tile(const AttentionParams& p, const int* bt_row, int seqlen_k, int kv_head,
                                             int tile, int need_sink_end, int need_lo, int need_hi, uint32_t k_smem,
                                             uint32_t v_smem) {
  constexpr int kChunks = kD / 8;
  constexpr int kRowsPerPass = kThreads / kChunks;
  const int chunk = threadIdx.x % kChunks;
  const __nv_bfloat16* k_base = static_cast<const __nv_bfloat16*>(p.k_cache);
  const __nv_bfloat16* v_base = static_cast<const __nv_bfloat16*>(p.v_cache);
#pragma unroll
  for (int r = threadIdx.x / kChunks; r < kBN; r += kRowsPerPass) {
    const int key = tile * kBN + r;
    const bool needed = key < need_sink_end || (key >= need_lo && key < need_hi);
    const long long row = needed ? cache_row(bt_row, p.block_size, seqlen_k, key) : -1;
    const long long off = row < 0 ? 0 : (row * p.num_kv_heads + kv_head) * kD + chunk * 8;
    const int bytes = row < 0 ? 0 : 16;
    cp_async16(k_smem + swz<kChunks>(r, chunk), k_base + off, bytes);
    cp_async16(v_smem + swz<kChunks>(r, chunk), v_base + off, bytes);
  }
}

template <int kD>
__global__ void __launch_bounds__(kThreads, 1) prefill_kernel(const __grid_constant__ AttentionParams p) {
  constexpr int kChunks = kD / 8;
  constexpr int kDT = kD / 8;  // 8-wide output column tiles per row
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t q_smem = smem_u32(smem);
  const uint32_t kv_smem = q_smem + kBM * kD * 2;  // stage s: K at + s*2*tile, V at + (s*2+1)*tile
  constexpr int kTileBytes = kBN * kD * 2;

  __shared__ int s_max_sink_end, s_min_wb, s_max_end, s_min_end, s_max_wb, s_min_sink_end;

  const int seq = blockIdx.z;
  const int head = blockIdx.y;
  const int m_block = gridDim.x - 1 - blockIdx.x;  // longest causal rows first
  const int q_begin = p.cu_seqlens_q[seq];
  const int q_len = p.cu_seqlens_q[seq + 1] - q_begin;
  const int m0 = m_block * kBM;
  if (m0 >= q_len) return;
  const int kv_head = head / (p.num_heads / p.num_kv_heads);
  const int seqlen_k = p.seqlen_k[seq];
  const int* bt_row = p.block_table + static_cast<long long>(seq) * p.max_blocks;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;

  // Union of the rows' ranges (which tiles to walk, which keys to load) and their intersection
  // (which tiles need no mask).
  if (tid == 0) {
    s_max_sink_end = 0, s_min_wb = INT_MAX, s_max_end = 0;
    s_min_end = INT_MAX, s_max_wb = 0, s_min_sink_end = INT_MAX;
  }
  __syncthreads();
  if (tid < kBM && m0 + tid < q_len) {
    const int t = q_begin + m0 + tid;
    const RowRange r = row_range(p, p.positions[t], p.generated[t] != 0);
    atomicMax(&s_max_sink_end, r.sink_end);
    atomicMin(&s_min_wb, r.window_begin);
    atomicMax(&s_max_end, r.end);
    atomicMin(&s_min_end, r.end);
    atomicMax(&s_max_wb, r.window_begin);
    atomicMin(&s_min_sink_end, r.sink_end);
  }
  __syncthreads();
  const int need_sink_end = s_max_sink_end, need_lo = s_min_wb, need_hi = s_max_end;
  const int all_end = s_min_end, all_wb = s_max_wb, all_sink_end = s_min_sink_end;
  const TileList tiles = make_tile_list<kBN>(need_sink_end, need_lo, need_hi);
  const int num_tiles = tiles.size();

  // Q tile (rows past q_len zero-filled), then the first K/V tile.
  {
    const __nv_bfloat16* q_base = static_cast<const __nv_bfloat16*>(p.q);
    const int chunk = tid % kChunks;
    for (int r = tid / kChunks; r < kBM; r += kThreads / kChunks) {
      const bool valid = m0 + r < q_len;
      const long long off = valid ? (static_cast<long long>(q_begin + m0 + r) * p.num_heads + head) * kD + chunk * 8 : 0;
      cp_async16(q_smem + swz<kChunks>(r, chunk), q_base + off, valid ? 16 : 0);
    }
    cp_async_commit();
  }
  if (num_tiles > 0) {
    load_kv_tile<kD>(p, bt_row, seqlen_k, kv_head, tiles.tile(0), need_sink_end, need_lo, need_hi, kv_smem,
                     kv_smem + kTileBytes);
  }
  cp_async_commit();
  cp_async_wait<1>();
  __syncthreads();

  uint32_t q_frag[kD / 16][4];
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    ldmatrix_x4(q_smem + swz<kChunks>(warp * 16 + lane % 16, kk * 2 + lane / 16), q_frag[kk][0], q_frag[kk][1],
                q_frag[kk][2], q_frag[kk][3]);
  }

  // This thread's two rows of every C fragment: warp*16 + lane/4 (+8).
  RowRange rows[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = m0 + warp * 16 + lane / 4 + h * 8;
    rows[h] = r < q_len ? row_range(p, p.positions[q_begin + r], p.generated[q_begin + r] != 0)
                        : row_range(p, -1, false);
  }

  float o[kDT][4];
#pragma unroll
  for (int i = 0; i < kDT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  const float scale_log2 = p.softmax_scale * kLog2e;

  for (int i = 0; i < num_tiles; ++i) {
    const int stage = i & 1;
    if (i + 1 < num_tiles) {  // prefetch the next tile into the other stage
      const uint32_t next = kv_smem + (stage ^ 1) * 2 * kTileBytes;
      load_kv_tile<kD>(p, bt_row, seqlen_k, kv_head, tiles.tile(i + 1), need_sink_end, need_lo, need_hi, next,
                       next + kTileBytes);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const uint32_t k_tile = kv_smem + stage * 2 * kTileBytes, v_tile = k_tile + kTileBytes;
    const int k0 = tiles.tile(i) * kBN;

    float s[kBN / 8][4];
#pragma unroll
    for (int n = 0; n < kBN / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < kBN / 16; ++np) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4(k_tile + swz<kChunks>(np * 16 + (lane / 16) * 8 + lane % 8, kk * 2 + (lane / 8) % 2), b0, b1,
                    b2, b3);
        mma_bf16(s[2 * np], q_frag[kk], b0, b1);
        mma_bf16(s[2 * np + 1], q_frag[kk], b2, b3);
      }
    }

    const bool tile_full = k0 + kBN <= all_end && (k0 >= all_wb || k0 + kBN <= all_sink_end);
    if (!tile_full) {
#pragma unroll
      for (int n = 0; n < kBN / 8; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = k0 + n * 8 + (lane % 4) * 2 + (e & 1);
          if (!key_visible(rows[e / 2], key)) s[n][e] = -INFINITY;
        }
      }
    }

    // Online softmax (base 2) for the two rows.
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float mx = row_max[h];
#pragma unroll
      for (int n = 0; n < kBN / 8; ++n) mx = fmaxf(mx, fmaxf(s[n][2 * h], s[n][2 * h + 1]));
      mx = warp_max4(mx);
      const float m_scaled = mx == -INFINITY ? 0.f : mx * scale_log2;
      const float alpha = exp2f(row_max[h] * scale_log2 - m_scaled);
      row_max[h] = mx;
      float sum = 0.f;
#pragma unroll
      for (int n = 0; n < kBN / 8; ++n) {
        s[n][2 * h] = exp2f(fmaf(s[n][2 * h], scale_log2, -m_scaled));
        s[n][2 * h + 1] = exp2f(fmaf(s[n][2 * h + 1], scale_log2, -m_scaled));
        sum += s[n][2 * h] + s[n][2 * h + 1];
      }
      row_sum[h] = row_sum[h] * alpha + sum;
#pragma unroll
      for (int d = 0; d < kDT; ++d) {
        o[d][2 * h] *= alpha;
        o[d][2 * h + 1] *= alpha;
      }
    }

    // O += P V, P from the S accumulators (bf16), V via ldmatrix.trans.
#pragma unroll
    for (int ks = 0; ks < kBN / 16; ++ks) {
      const uint32_t a[4] = {pack_bf16(s[2 * ks][0], s[2 * ks][1]), pack_bf16(s[2 * ks][2], s[2 * ks][3]),
                             pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]),
                             pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3])};
#pragma unroll
      for (int np = 0; np < kD / 16; ++np) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4_trans(v_tile + swz<kChunks>(ks * 16 + lane % 16, np * 2 + lane / 16), b0, b1, b2, b3);
        mma_bf16(o[2 * np], a, b0, b1);
        mma_bf16(o[2 * np + 1], a, b2, b3);
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  cp_async_wait<0>();

  // Epilogue: normalise and store the valid rows.
  __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float l = warp_sum4(row_sum[h]);
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const int r = m0 + warp * 16 + lane / 4 + h * 8;
    if (r >= q_len) continue;
    __nv_bfloat16* dst = out + (static_cast<long long>(q_begin + r) * p.num_heads + head) * kD + (lane % 4) * 2;
#pragma unroll
    for (int d = 0; d < kDT; ++d) {
      *reinterpret_cast<__nv_bfloat162*>(dst + d * 8) = __floats2bfloat162_rn(o[d][2 * h] * inv, o[d][2 * h + 1] * inv);
    }
  }
}

template <int kD>
std::string launch_prefill(const AttentionParams& p, cudaStream_t stream) {
  constexpr int smem = prefill_smem_bytes<kD>();
  cudaError_t err = cudaFuncSetAttribute(prefill_kernel<kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (err != cudaSuccess) return std::string("attention_prefill: ") + cudaGetErrorString(err);
  const dim3 grid((p.max_seqlen_q + kBM - 1) / kBM, p.num_heads, p.num_seqs);
  prefill_kernel<kD><<<grid, kThreads, smem, stream>>>(p);
  err = cudaGetLastError();
  if (err != cudaSuccess) return std::string("attention_prefill: launch failed: ") + cudaGetErrorString(err);
  return "";
}

}  // namespace

std::string attention_prefill(const AttentionParams& p, void* stream) {
  std::string err = validate_attention_params(p);
  if (!err.empty()) return "attention_prefill: " + err;
  if (p.num_tokens == 0) return "";
  if (p.max_seqlen_q < 1) return "attention_prefill: max_seqlen_q must be >= 1, got " + std::to_string(p.max_seqlen_q);
  const auto s = static_cast<cudaStream_t>(stream);
  return p.head_dim == 64 ? launch_prefill<64>(p, s) : launch_prefill<128>(p, s);
}

}  // namespace swaa::cuda
