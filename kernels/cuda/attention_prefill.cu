// SWAA prefill attention: FlashAttention-2 style, one CTA per (128-query tile, query head, sequence),
// 4 warps x 32 query rows, 64-key tiles double-buffered with cp.async,
// mma.sync bf16 -> fp32, online softmax in base 2. Invariant: a CTA walks only the key tiles of the
// union of its rows' sinks and windows (TileList), loading each explicitly into the stage it computes
// from; the mask is decided per row (position, phase). Tests: tests/kernels/attention_kernel_test.cc.
#include <cuda_runtime.h>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "swaa_attention.h"

namespace swaa::cuda {
namespace {

constexpr int kBM = 128;  // query rows per CTA
constexpr int kBN = 64;   // keys per tile (the softmax tree reductions assume 64)

// kMT m16 row tiles per warp. kMT = 2 (FlashAttention-2's split): 4 warps of 32 rows, Q re-read
// from smem per k-step; each K/V smem byte feeds twice the math of 8 warps x 16 rows (38% fewer smem
// reads per FLOP); 2 stages (Q 32 KiB + 64 KiB at D=128) so 2 CTAs fit an SM. Measured on the H200
// (bench/attention_notes.md): 327 vs 305 TFLOP/s causal at 128k for 8 warps x 16 rows with Q in
// registers and 3 stages, so only kMT = 2 is instantiated; the code keeps kMT general.
template <int kD, int kMT>
struct PrefillConfig {
  static constexpr int kWarps = kBM / (16 * kMT);
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kStages = kMT == 1 ? 3 : 2;
  static constexpr int kMinBlocks = kMT == 1 ? 1 : 2;
  static constexpr int kSmem = (kBM + kStages * 2 * kBN) * kD * 2;
};

template <int kD, int kMT>
__global__ void __launch_bounds__(PrefillConfig<kD, kMT>::kThreads, PrefillConfig<kD, kMT>::kMinBlocks)
    prefill_kernel(const __grid_constant__ AttentionParams p) {
  using Cfg = PrefillConfig<kD, kMT>;
  constexpr int kChunks = kD / 8;
  constexpr int kDT = kD / 8;  // 8-wide output column tiles per row
  constexpr int kStages = Cfg::kStages;
  constexpr int kTileBytes = kBN * kD * 2;
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t q_smem = smem_u32(smem);
  const uint32_t kv_smem = q_smem + kBM * kD * 2;  // stage s: K at + 2s tiles, V at + (2s + 1) tiles

  const PrefillCta<kBM> cta(p);
  if (cta.empty()) return;
  const int seq = cta.seq, head = cta.head, kv_head = cta.kv_head;
  const int q_begin = cta.q_begin, q_len = cta.q_len, m0 = cta.m0;
  const int seqlen_k = p.seqlen_k[seq];
  const int* bt_row = p.block_table + static_cast<long long>(seq) * p.max_blocks;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const __nv_bfloat16* k_cache = static_cast<const __nv_bfloat16*>(p.k_cache);
  const __nv_bfloat16* v_cache = static_cast<const __nv_bfloat16*>(p.v_cache);

  const CtaKeyRanges keys = cta_key_ranges<kBM, Cfg::kThreads>(p, q_begin, m0, q_len);
  const TileList tiles = keys.tiles<kBN>();
  const int num_tiles = tiles.size();
  auto needed = [&](int key) { return keys.needed(key); };

  // Q tile (rows past q_len zero-filled), then the first kStages - 1 K/V tiles, one group each.
  {
    const __nv_bfloat16* q_base = static_cast<const __nv_bfloat16*>(p.q);
    const int chunk = tid % kChunks;
    for (int r = tid / kChunks; r < kBM; r += Cfg::kThreads / kChunks) {
      const bool valid = m0 + r < q_len;
      const long long off = valid ? (static_cast<long long>(q_begin + m0 + r) * p.num_heads + head) * kD + chunk * 8 : 0;
      cp_async16(q_smem + swz<kChunks>(r, chunk), q_base + off, valid ? 16 : 0);
    }
    cp_async_commit();
  }
  PagedTileLoader<kBN, kD, Cfg::kThreads> loader;
#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (st < num_tiles) {
      loader.locate(bt_row, p.block_size, seqlen_k, tiles.tile(st) * kBN, needed);
      const uint32_t k = kv_smem + st * 2 * kTileBytes;
      loader.issue(k_cache, v_cache, p.num_kv_heads, kv_head, k, k + kTileBytes);
    }
    cp_async_commit();
  }

  // ldmatrix lane addresses. In every operand the 8 rows one matrix reads are 8-aligned, so the
  // swizzle term is (chunk ^ (lane % 8)): a lane constant XOR a compile-time chunk, and each address
  // is a lane base + an immediate (keeps ~80 hoisted addresses out of the registers).
  constexpr int kRowBytes = kChunks * 16;
  const int xy = (lane / 16) ^ (lane % 8);       // Q (A operand) and V (trans B operand)
  const int ky = ((lane / 8) % 2) ^ (lane % 8);  // K (B operand)
  const uint32_t q_lane = q_smem + (lane % 16) * kRowBytes;
  const uint32_t k_lane_off = ((lane / 16) * 8 + lane % 8) * kRowBytes;
  const uint32_t v_lane_off = (lane % 16) * kRowBytes;
  uint32_t q_frag[kMT == 1 ? kD / 16 : 1][4];
  if constexpr (kMT == 1) {
    cp_async_wait<kStages - 1>();
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      ldmatrix_x4(q_lane + warp * 16 * kRowBytes + (((kk * 2) ^ xy) << 4), q_frag[kk][0], q_frag[kk][1], q_frag[kk][2],
                  q_frag[kk][3]);
    }
  }

  // This thread's rows of every C fragment: warp * 16 * kMT + mt * 16 + lane / 4 (+ 8). Only their
  // positions (-1 = padding) and phase bits stay live; ranges are recomputed in masked tiles.
  int row_pos[kMT][2];
  unsigned row_gen = 0;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = m0 + warp * 16 * kMT + mt * 16 + lane / 4 + h * 8;
      row_pos[mt][h] = row_phase(p, q_begin, q_len, r, row_gen, mt * 2 + h);
    }
  }

  float o[kMT][kDT][4];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int i = 0; i < kDT; ++i) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
  }
  float row_max[kMT][2], row_sum[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) row_max[mt][0] = row_max[mt][1] = -INFINITY, row_sum[mt][0] = row_sum[mt][1] = 0.f;
  const float scale_log2 = p.softmax_scale * kLog2e;

  for (int i = 0; i < num_tiles; ++i) {
    const int ahead = i + kStages - 1;  // the tile this iteration starts loading
    if (ahead < num_tiles) loader.locate(bt_row, p.block_size, seqlen_k, tiles.tile(ahead) * kBN, needed);
    cp_async_wait<kStages - 2>();
    __syncthreads();  // tile i landed for every thread; every warp is done with tile i - 1
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
      if constexpr (kMT == 1) {
#pragma unroll
        for (int e = 0; e < 4; ++e) qa[0][e] = q_frag[kk][e];
      } else {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          ldmatrix_x4(q_lane + (warp * kMT + mt) * 16 * kRowBytes + (((kk * 2) ^ xy) << 4), qa[mt][0], qa[mt][1],
                      qa[mt][2], qa[mt][3]);
        }
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
    if (ahead < num_tiles) {  // its stage was last read in iteration i - 1, finished by every warp
      const uint32_t k = kv_smem + (ahead % kStages) * 2 * kTileBytes;
      loader.issue(k_cache, v_cache, p.num_kv_heads, kv_head, k, k + kTileBytes);
    }
    cp_async_commit();

    const bool tile_full = keys.tile_full(k0, kBN);
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      if (!tile_full) mask_scores<kBN>(s[mt], p, row_pos[mt], row_gen >> (mt * 2), k0);
      // Online softmax (base 2) for the thread's two rows of this m tile.
#pragma unroll
      for (int h = 0; h < 2; ++h) online_softmax_row<kBN, kDT>(s[mt], h, row_max[mt][h], row_sum[mt][h], o[mt], scale_log2);
    }

    // O += P V, P from the S accumulators packed to bf16 (halves their registers), V via ldmatrix.trans.
    uint32_t pk[kMT][kBN / 16][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) pack_c_to_a<kBN>(s[mt], pk[mt]);
    mma_pv<kMT, kBN, kD>(o, pk, v_tile + v_lane_off, xy);
  }
  cp_async_wait<0>();

#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = m0 + warp * 16 * kMT + mt * 16 + lane / 4 + h * 8;
      store_out_row<kDT>(p.out, p.num_heads, head, q_begin, q_len, r, o[mt], h, row_sum[mt][h], lane);
    }
  }
}

template <int kD, int kMT>
std::string launch_prefill(const AttentionParams& p, cudaStream_t stream) {
  using Cfg = PrefillConfig<kD, kMT>;
  cudaError_t err =
      cudaFuncSetAttribute(prefill_kernel<kD, kMT>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg::kSmem);
  if (err != cudaSuccess) return std::string("attention_prefill: ") + cudaGetErrorString(err);
  const dim3 grid((p.max_seqlen_q + kBM - 1) / kBM, p.num_heads, p.num_seqs);
  prefill_kernel<kD, kMT><<<grid, Cfg::kThreads, Cfg::kSmem, stream>>>(p);
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
  return p.head_dim == 64 ? launch_prefill<64, 2>(p, s) : launch_prefill<128, 2>(p, s);
}

}  // namespace swaa::cuda
