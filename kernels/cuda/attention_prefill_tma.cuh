// The TMA prefill kernels' shared pieces (attention_prefill_sm90_tma.cu: the kernel whose consumers
// set up each item; attention_prefill_sm90_prepared.cu: items prepared by the producer warp): tile sizes, the launch arguments, the
// producer's tile fill, the work-item order and the consumers' O store. Device code for sm_90a;
// included by those two files only.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <string>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "mbarrier.cuh"
#include "swaa_attention.h"
#include "wgmma.cuh"

namespace swaa::cuda::prefill_tma {

constexpr int kD = 128;
constexpr int kBM = 128;  // query rows per CTA: 2 consumer warpgroups x 64
constexpr int kBN = 128;  // keys per tile
constexpr int kConsumerThreads = 256;
constexpr int kThreads = kConsumerThreads + 128;  // + the producer warpgroup
constexpr int kProducerWarp = kConsumerThreads / 32;
constexpr int kProducerRegs = 40, kConsumerRegs = 232;  // 128 x 40 + 256 x 232 <= 64K
constexpr int kTileBytes = kBN * kD * 2;                // 32 KiB; Q is the same size
constexpr int kHalfBytes = kBN * 128;                   // one 64-column half of a tile

constexpr int kStages = 2;
constexpr int kSmem = (1 + 2 * kStages) * kTileBytes + 1024;  // Q, K and V stages, + 1024 to align
constexpr int kOutBytes = kBM * kD * 2;                       // kTmaStore: O staged, 16 KiB per warpgroup
struct TmaArgs {
  AttentionParams p;
  CUtensorMap k_page, v_page;  // box {64 columns, 1 head, page_rows keys}
  CUtensorMap k_tile, v_tile;  // box {64, 1, 128}: a whole tile half of consecutive blocks
  CUtensorMap q_rows;          // the prepared-items kernel: q [tokens][heads][128], box {64, 1, 128}
  CUtensorMap out_rows;        // kTmaStore: out [tokens][heads][128], box {64 columns, 1 head, 64 rows}
  int page_rows;               // min(block_size, 128)
  // PrefillTrace's records (the kTrace kernel only), for the first trace_rounds rounds of a CTA.
  unsigned long long* trace;
  int trace_rounds;
};

struct Barriers {
  unsigned long long full_k[kStages], full_v[kStages];    // producer -> consumers (1 arrival + bytes)
  unsigned long long empty_k[kStages], empty_v[kStages];  // consumers -> producer (8 warps)
};

#if SWAA_WGMMA_AVAILABLE
// The producer warp's fill of one K or V tile (keys [k0, k0 + 128)) into `dst`, completing on `bar`.
// Lane l < 128 / page_rows owns the tile's rows [l * page_rows, (l + 1) * page_rows): one page, or a
// slice of one when block_size > 128. When every lane's page is whole, allocated and the pages are
// physically consecutive, lane 0 loads the tile in one box per 64-column half; else each lane its
// page. (Splitting partial runs of consecutive pages into power-of-two boxes was measured slower on
// both consecutive and permuted blocks: 548 vs 582 TFLOP/s at 8k causal, bench/attention_notes.md.)
struct TileFill {
  int first_row;    // this lane's cache row of its first key
  bool tma;         // a whole allocated page of keys < seqlen_k
  bool contiguous;  // every lane's page TMA-able and their rows consecutive
  unsigned manual;  // lanes whose rows the warp copies or zero-fills instead
  uint32_t bytes;   // what the TMA boxes of this tile bring

  __device__ __forceinline__ void plan(const TmaArgs& a, const int* bt_row, int seqlen_k, int k0) {
    const int lane = threadIdx.x % 32, R = a.page_rows, npages = kBN / R, bs = a.p.block_size;
    const int key = k0 + lane * R;
    int blk = -1;
    if (lane < npages && key < seqlen_k) blk = bt_row[key / bs];
    first_row = blk >= 0 ? blk * bs + key % bs : -1;
    tma = blk >= 0 && key + R <= seqlen_k;
    manual = __ballot_sync(0xffffffffu, lane < npages && !tma);
    const int first0 = __shfl_sync(0xffffffffu, first_row, 0);
    contiguous = __all_sync(0xffffffffu, lane >= npages || (tma && first_row == first0 + lane * R));
    bytes = static_cast<uint32_t>(__popc(__ballot_sync(0xffffffffu, tma))) * R * kD * 2;
  }

  // cache: the K or V cache; map_page / map_tile: its tensor maps.
  __device__ __forceinline__ void issue(const TmaArgs& a, const int* bt_row, int seqlen_k, int k0, int kv_head,
                                        const __nv_bfloat16* cache, const CUtensorMap* map_page,
                                        const CUtensorMap* map_tile, uint32_t dst, uint32_t bar) const {
    const int lane = threadIdx.x % 32, R = a.page_rows;
    if (manual != 0u) {  // the warp gathers these pages row by row (zeros where nothing may be read)
      for (unsigned m = manual; m != 0u; m &= m - 1) {
        const int r0 = (__ffs(m) - 1) * R;
        for (int idx = lane; idx < R * 16; idx += 32) {
          const int r = r0 + idx / 16, chunk = idx % 16;
          const int row = cache_row(bt_row, a.p.block_size, seqlen_k, k0 + r);
          uint4 v = make_uint4(0u, 0u, 0u, 0u);
          if (row >= 0) {
            const long long src = (static_cast<long long>(row) * a.p.num_kv_heads + kv_head) * kD + chunk * 8;
            v = *reinterpret_cast<const uint4*>(cache + src);
          }
          const uint32_t at = dst + sw128_offset<kBN>(r, chunk);
          asm volatile("st.shared.v4.b32 [%0], {%1, %2, %3, %4};\n" ::"r"(at), "r"(v.x), "r"(v.y), "r"(v.z),
                       "r"(v.w)
                       : "memory");
        }
      }
      fence_proxy_async_smem();  // the generic writes, visible to wgmma's async proxy
    }
    __syncwarp();
    if (lane == 0) mbar_arrive_expect_tx(bar, bytes);
    if (contiguous) {
      if (lane == 0) {
        tma_load_3d(dst, map_tile, 0, kv_head, first_row, bar);
        tma_load_3d(dst + kHalfBytes, map_tile, 64, kv_head, first_row, bar);
      }
    } else if (tma) {
      const uint32_t d = dst + lane * R * 128;
      tma_load_3d(d, map_page, 0, kv_head, first_row, bar);
      tma_load_3d(d + kHalfBytes, map_page, 64, kv_head, first_row, bar);
    }
  }
};

// The producer warp's fills of item `it`'s key tiles into the stage ring (g: the ring's tiles
// before this item, advanced past them): each stage's K, then its V, once the consumers have
// released the stage's previous tiles.
__device__ __forceinline__ void fill_item_tiles(const TmaArgs& a, const PrefillCta<kBM>& it, const TileList& tiles,
                                                int& g, Barriers& bars, uint32_t k_smem, uint32_t v_smem) {
  const AttentionParams& p = a.p;
  const __nv_bfloat16* k_cache = static_cast<const __nv_bfloat16*>(p.k_cache);
  const __nv_bfloat16* v_cache = static_cast<const __nv_bfloat16*>(p.v_cache);
  const int seqlen_k = p.seqlen_k[it.seq];
  const int* bt_row = p.block_table + static_cast<long long>(it.seq) * p.max_blocks;
  for (int j = 0; j < tiles.size(); ++j, ++g) {
    const int s = g % kStages;
    const uint32_t reuse_parity = ((g / kStages) - 1) & 1;
    const int k0 = tiles.tile(j) * kBN;
    TileFill f;
    f.plan(a, bt_row, seqlen_k, k0);
    if (g >= kStages) mbar_wait(smem_u32(&bars.empty_k[s]), reuse_parity);
    f.issue(a, bt_row, seqlen_k, k0, it.kv_head, k_cache, &a.k_page, &a.k_tile, k_smem + s * kTileBytes,
            smem_u32(&bars.full_k[s]));
    if (g >= kStages) mbar_wait(smem_u32(&bars.empty_v[s]), reuse_parity);
    f.issue(a, bt_row, seqlen_k, k0, it.kv_head, v_cache, &a.v_page, &a.v_tile, v_smem + s * kTileBytes,
            smem_u32(&bars.full_v[s]));
  }
}
#endif

// The work items of a launch: (query tile, query head, sequence) for every sequence, numbered so
// that item t = blockIdx.x of a one-item-per-CTA grid reproduces the 3D grid's order (query tiles
// reversed, fastest), or with `lpt` all heads and sequences of the longest query tiles first (the
// longest-processing-time-first order a persistent grid walks). A persistent CTA's k-th item is
// slot(k): round k of gridDim.x items, taken in CTA order on even rounds and in reverse on odd ones
// with `snake`, so the CTA that took a round's longest item takes the next round's shortest (in
// plain round-robin CTA 0 takes the longest of every round, and full causal tiles then end up to
// ~9% out of balance).
struct WorkItems {
  int m_blocks, heads, seqs;
  bool lpt, snake;
  __device__ __forceinline__ int count() const { return m_blocks * heads * seqs; }
  __device__ __forceinline__ int slot(int k) const {
    const int g = static_cast<int>(gridDim.x), c = static_cast<int>(blockIdx.x);
    return k * g + (snake && (k & 1) ? g - 1 - c : c);
  }
  // Item t's query tile (empty() when it lies past its sequence's rows).
  __device__ __forceinline__ PrefillCta<kBM> item(const AttentionParams& p, int t) const {
    int seq, head, m_rev;
    if (lpt) {
      seq = t % seqs, head = (t / seqs) % heads, m_rev = t / (seqs * heads);
    } else {
      m_rev = t % m_blocks, head = (t / m_blocks) % heads, seq = t / (m_blocks * heads);
    }
    return PrefillCta<kBM>(p, seq, head, m_blocks - 1 - m_rev);
  }
};

// This CTA's next non-empty item after its k-th (k = -1 to start): the k of it; w.slot(k) >=
// w.count() when there is none.
__device__ __forceinline__ int next_item(const AttentionParams& p, const WorkItems& w, int k) {
  for (++k; w.slot(k) < w.count(); ++k) {
    if (!w.item(p, w.slot(k)).empty()) break;
  }
  return k;
}

#if SWAA_WGMMA_AVAILABLE
// The stage ring's barriers (by one thread): "full" completed by the producer's one arrival and
// the TMA bytes, "empty" by one arrival per consumer warp.
__device__ __forceinline__ void init_stage_ring(Barriers& bars) {
  for (int s = 0; s < kStages; ++s) {
    mbar_init(smem_u32(&bars.full_k[s]), 1);
    mbar_init(smem_u32(&bars.full_v[s]), 1);
    mbar_init(smem_u32(&bars.empty_k[s]), kConsumerThreads / 32);
    mbar_init(smem_u32(&bars.empty_v[s]), kConsumerThreads / 32);
  }
}
// The K and V tensor maps into the TMA unit's cache (by one thread).
__device__ __forceinline__ void prefetch_kv_maps(const TmaArgs& a) {
  tma_prefetch_map(&a.k_page);
  tma_prefetch_map(&a.v_page);
  tma_prefetch_map(&a.k_tile);
  tma_prefetch_map(&a.v_tile);
}
// A consumer warpgroup's store of its 64 rows of O (this thread's rows row0 and row0 + 8 of the
// item, accumulators o, softmax sums row_sum), normalised to bf16. With `tma` and all 64 rows
// queries: stmatrix into the warpgroup's half of the staging buffer at out_smem (the 128-byte
// swizzle), then one thread stores it with TMA, so the warpgroup goes on to its next item instead
// of issuing 32 global stores per thread; else (partial row blocks) direct stores.
__device__ __forceinline__ void store_o(const TmaArgs& a, bool tma, uint32_t out_smem, int head, int q_begin, int m0,
                                        int q_len, int row0, const float (&o)[kD / 8][4], const float (&row_sum)[2]) {
  const int tid = threadIdx.x, lane = tid % 32, wg = tid / 128, warp_in_wg = (tid / 32) % 4;
  if (tma && m0 + wg * 64 + 64 <= q_len) {
    const bool leader = tid % 128 == 0;
    if (leader) bulk_wait_read<0>();  // the previous item's store has read the staging buffer
    named_bar_sync(1 + wg, 128);
    const uint32_t dst = out_smem + wg * (kOutBytes / 2);
    float inv[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float l = warp_sum4(row_sum[h]);
      inv[h] = l > 0.f ? 1.f / l : 0.f;
    }
    auto pack = [&](int cg, int h) {
      const __nv_bfloat162 v = __floats2bfloat162_rn(o[cg][2 * h] * inv[h], o[cg][2 * h + 1] * inv[h]);
      return *reinterpret_cast<const uint32_t*>(&v);
    };
    // stmatrix q: matrices (rows h = 0, 1) x (column groups 2q, 2q + 1); lane l addresses row l % 8
    // of matrix l / 8, i.e. row warp_in_wg * 16 + 8 * (l / 8 % 2) + l % 8, chunk 2q + l / 16.
    const int m_row = warp_in_wg * 16 + 8 * ((lane / 8) % 2) + lane % 8;
#pragma unroll
    for (int q = 0; q < kD / 16; ++q) {
      stmatrix_x4(dst + sw128_offset<64>(m_row, 2 * q + lane / 16), pack(2 * q, 0), pack(2 * q, 1),
                  pack(2 * q + 1, 0), pack(2 * q + 1, 1));
    }
    fence_proxy_async_smem();  // the generic writes, visible to the TMA store's async proxy
    named_bar_sync(1 + wg, 128);
    if (leader) {
      const int row = q_begin + m0 + wg * 64;
      tma_store_3d(&a.out_rows, 0, head, row, dst);
      tma_store_3d(&a.out_rows, 64, head, row, dst + 64 * 128);
      bulk_commit();
    }
  } else {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      store_out_row<kD / 8>(a.p.out, a.p.num_heads, head, q_begin, q_len, row0 + 8 * h, o, h, row_sum[h], lane);
    }
  }
}
#endif


// The prepared-items kernel (attention_prefill_sm90_prepared.cu) on `grid` CTAs over `w`; needs
// a.q_rows and a.out_rows encoded. An error message, or "" when launched.
std::string launch_prefill_prepared(const TmaArgs& a, const WorkItems& w, int grid, cudaStream_t stream);

}  // namespace swaa::cuda::prefill_tma
