// SWAA prefill attention on Hopper (sm_90a) in the FlashAttention-3 structure, with TMA loads: the
// tile walk of attention_prefill_sm90.cu (128-query tile per CTA, only the key tiles of the rows'
// sinks ∪ windows, per-row phase masks) split over three warpgroups.
//  - Producer (warpgroup 2, one warp working): fills 128-key K and V tiles of the paged cache into
//    128-byte-swizzled shared memory with TMA, completing on the stage's "full" mbarrier: one box
//    per 64-column half when the tile's pages are consecutive physical blocks (as a fresh
//    sequence's are: BlockPool hands out the lowest free ids), else one per page. Pages a box
//    cannot take (the page holding seqlen_k, released blocks, pages past seqlen_k) are copied or
//    zero-filled by the warp with plain loads, so no key past seqlen_k or in a released block is
//    read: the V rows of invisible keys stay finite (0 * NaN would poison O).
//  - Consumers (warpgroups 0, 1: 64 query rows each): S = Q K^T and O += P V on wgmma. S of tile i
//    is issued before P V of tile i - 1 and tile i's softmax runs while that P V is in flight
//    (FA3's intra-warpgroup overlap); the two warpgroups take turns issuing their MMAs (named
//    barriers), so one's softmax also runs under the other's MMAs.
// CTA schedule (prefill_tma_schedule): persistent (one CTA per SM walking the tiles, the stage ring
// running on from one tile to the next), or one CTA per query tile.
// Head dim 128; block sizes >= 8 dividing 128 or multiples of 128, and the cache's extent
// (num_slots) given; attention_prefill_sm90 falls back to the cp.async kernel otherwise.
// Measured on the H200 in bench/attention_notes.md; checked against the fp64 reference by
// tests/kernels/attention_kernel_test.cc (AttentionKernelsSm90.PrefillTmaAgainstReference).
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "device_info.h"
#include "mbarrier.cuh"
#include "swaa_attention.h"
#include "wgmma.cuh"

namespace swaa::cuda {
namespace {

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
// With early setup or the TMA store switched off, full-attention layers with more queries per
// sequence than this run one CTA per query tile (prefill_tma_schedule).
constexpr int kPlainPersistentMaxQueries = 8192;
constexpr int kSmem = (1 + 2 * kStages) * kTileBytes + 1024;  // Q, K and V stages, + 1024 to align
constexpr int kOutBytes = kBM * kD * 2;                       // kTmaStore: O staged, 16 KiB per warpgroup
struct TmaArgs {
  AttentionParams p;
  CUtensorMap k_page, v_page;  // box {64 columns, 1 head, page_rows keys}
  CUtensorMap k_tile, v_tile;  // box {64, 1, 128}: a whole tile half of consecutive blocks
  CUtensorMap out_rows;        // kTmaStore: out [tokens][heads][128], box {64 columns, 1 head, 64 rows}
  int page_rows;               // min(block_size, 128)
  // PrefillTrace's records (the kTrace kernel only), for the first trace_rounds rounds of a CTA.
  unsigned long long* trace;
  int trace_rounds;
};

// Trace records (PrefillTrace): the clock at an item's events, by its consumer warpgroup's first
// thread; read from the params at each event, so no register is held for them. Outside the key-tile
// loop only.
__device__ __forceinline__ unsigned long long* trace_at(const TmaArgs& a, int record) {
  const size_t cta_words = kTraceHeaderWords + 2 * static_cast<size_t>(a.trace_rounds) * kTraceItemWords;
  return a.trace + blockIdx.x * cta_words + record;
}
__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

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

// One CTA per item (grid = items) or persistent (grid = SMs, each CTA walking its items): the
// producer warp and the consumer warpgroups walk the same items, with the stage ring and its
// phases running on across items (g = tiles before this item), so the producer fills the next
// item's first tiles while the consumers finish the current one.
// kTrace: the bench's instantiation recording PrefillTrace (the engine's has no trace code).
// kEarlySetup (on; SWAA_PREFILL_EARLY_SETUP=0 turns it off): each item's Q copy starts
// first and the next item, the key ranges (warp_key_ranges_batched) and the row phases load while it
// runs, instead of one after the other (PrefillTrace at 8k: ~0.85 + 0.59 tile times per item).
// kTmaStore (on; SWAA_PREFILL_TMA_STORE=0 turns it off): a warpgroup whose 64 rows are
// all queries writes its normalised O to shared memory (stmatrix, the 128-byte swizzle) and one
// thread stores it with TMA, so the warpgroup goes on to its next item instead of issuing 32 global
// stores per thread (0.62 tile times per item at 8k); partial row blocks keep the direct stores.
// Both together, H200: full causal 8k persistent 558 -> 581 TFLOP/s, 32k and 128k level
// (2026-12-03); W = 2048 +3-5% at 8k-128k (2026-12-04; bench/attention_notes.md).
// (ptxas: the instantiations with kTmaStore and without kTrace spill 12-16 bytes, outside the key
// loop.)
template <bool kTrace, bool kEarlySetup, bool kTmaStore>
__global__ void __launch_bounds__(kThreads, 1) prefill_tma_kernel(const __grid_constant__ TmaArgs a,
                                                                   const WorkItems w) {
#if SWAA_WGMMA_AVAILABLE
  const AttentionParams& p = a.p;
  extern __shared__ unsigned char smem_raw[];
  __shared__ Barriers bars;
  const uint32_t q_smem = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t k_smem = q_smem + kTileBytes;  // stage s at + s tiles
  const uint32_t v_smem = k_smem + kStages * kTileBytes;
  const uint32_t out_smem = v_smem + kStages * kTileBytes;  // kTmaStore: O staged, a half per warpgroup

  const int first = next_item(p, w, -1);
  if (w.slot(first) >= w.count()) return;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbar_init(smem_u32(&bars.full_k[s]), 1);
      mbar_init(smem_u32(&bars.full_v[s]), 1);
      mbar_init(smem_u32(&bars.empty_k[s]), kConsumerThreads / 32);
      mbar_init(smem_u32(&bars.empty_v[s]), kConsumerThreads / 32);
    }
    fence_mbar_init();
  }
  if (warp == kProducerWarp && lane == 0) {
    tma_prefetch_map(&a.k_page);
    tma_prefetch_map(&a.v_page);
    tma_prefetch_map(&a.k_tile);
    tma_prefetch_map(&a.v_tile);
  }
  __syncthreads();  // the barriers' initialisation, to every thread
  if (kTrace && tid == 0) {
    unsigned smid;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(smid));
    *trace_at(a, kTraceStartNs) = global_ns();
    *trace_at(a, kTraceStartClock) = clock64();
    *trace_at(a, kTraceSm) = smid;
  }

  if (warp >= kProducerWarp) {
    setmaxnreg_dec<kProducerRegs>();
    if (warp != kProducerWarp) return;
    const __nv_bfloat16* k_cache = static_cast<const __nv_bfloat16*>(p.k_cache);
    const __nv_bfloat16* v_cache = static_cast<const __nv_bfloat16*>(p.v_cache);
    int g = 0;
    for (int k = first; w.slot(k) < w.count(); k = next_item(p, w, k)) {
      const PrefillCta<kBM> it = w.item(p, w.slot(k));
      const TileList tiles = warp_key_ranges<kBM>(p, it.q_begin, it.m0, it.q_len).tiles<kBN>();
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
    return;
  }

  setmaxnreg_inc<kConsumerRegs>();
  // Consumers. Warpgroup wg owns query rows [wg * 64, wg * 64 + 64) of each tile; this thread's rows
  // in the accumulators (the mma.sync C layout per 16-row warp slice) are row0 and row0 + 8.
  const int wg = warp / 4, warp_in_wg = warp % 4;
  const float scale_log2 = p.softmax_scale * kLog2e;
  const uint32_t q_wg = q_smem + wg * 64 * 128;  // this warpgroup's 64 rows in each column half
  float o[kD / 8][4];
  float s[kBN / 8][4];
  uint32_t pk[kBN / 16][4];
  auto issue_qk = [&](int st) { wgmma_qk_128(s, q_wg, k_smem + st * kTileBytes); };
  auto issue_pv = [&](int st) { wgmma_pv_128(o, pk, v_smem + st * kTileBytes); };
  auto release = [&](unsigned long long& bar) {
    if (lane == 0) mbar_arrive(smem_u32(&bar));  // after the warp's wgmma_wait: its reads are done
  };
  // Turn taking (FA3's warp scheduler barriers 3 and 4): wait for this warpgroup's turn before
  // issuing MMAs, hand it over after. Every item has the same number of turns for both warpgroups.
  auto my_turn = [&] { named_bar_sync(3 + wg, 256); };
  auto your_turn = [&] { named_bar_arrive(3 + (1 - wg), 256); };
  auto full_parity = [](int i) { return static_cast<uint32_t>((i / kStages) & 1); };
  if (wg == 1) your_turn();  // warpgroup 0 goes first

  // Event e of round k's item: the clock, by this warpgroup's first thread, when tracing.
  auto trace_event = [&](int k, int e) {
    if (kTrace && tid % 128 == 0 && k < a.trace_rounds) {
      *trace_at(a, kTraceHeaderWords + (wg * a.trace_rounds + k) * kTraceItemWords + e) = clock64();
    }
  };
  // Starts the cp.async copy of this warpgroup's 64 Q rows of `it` (rows past q_len zero-filled);
  // its last item's Q K^T are done.
  auto copy_q = [&](const PrefillCta<kBM>& it) {
    const __nv_bfloat16* q_base = static_cast<const __nv_bfloat16*>(p.q);
    const int chunk = tid % 16;
    for (int r = wg * 64 + (tid % 128) / 16; r < wg * 64 + 64; r += 8) {
      const bool valid = it.m0 + r < it.q_len;
      const long long row = static_cast<long long>(it.q_begin + it.m0 + r) * p.num_heads + it.head;
      cp_async16(q_smem + sw128_offset<kBM>(r, chunk), q_base + (valid ? row * kD + chunk * 8 : 0), valid ? 16 : 0);
    }
    cp_async_commit();
  };
  int g = 0;
  for (int k = first; w.slot(k) < w.count();) {
    if constexpr (kEarlySetup) trace_event(k, kTraceItemStart);
    const PrefillCta<kBM> it = w.item(p, w.slot(k));
    if constexpr (kEarlySetup) copy_q(it);
    const int next = next_item(p, w, k);
    const CtaKeyRanges keys = kEarlySetup ? warp_key_ranges_batched<kBM>(p, it.q_begin, it.m0, it.q_len)
                                          : warp_key_ranges<kBM>(p, it.q_begin, it.m0, it.q_len);
    const TileList tiles = keys.tiles<kBN>();
    // >= 1: row m0 sees at least itself. Broadcast from lane 0 (the same in every lane) so ptxas knows
    // it is warp-uniform: otherwise the stage index g and the wgmma descriptors built from it may be
    // computed per thread and moved to uniform registers before every wgmma (48 R2UR per iteration
    // in the early-setup instantiation's loop, cuobjdump 2026-12-03).
    const int num_tiles = __shfl_sync(0xffffffffu, tiles.size(), 0);
    if (kTrace && tid % 128 == 0 && k < a.trace_rounds) {
      *trace_at(a, kTraceHeaderWords + (wg * a.trace_rounds + k) * kTraceItemWords + kTraceTiles) = num_tiles;
    }
    if constexpr (!kEarlySetup) {
      trace_event(k, kTraceItemStart);
      copy_q(it);
    }
    const int row0 = it.m0 + wg * 64 + warp_in_wg * 16 + lane / 4;  // and row0 + 8
    unsigned row_gen = 0;
    int row_pos[2];
    if constexpr (kEarlySetup) {
      row_pos[0] = row_phase(p, it.q_begin, it.q_len, row0, row_gen, 0);
      row_pos[1] = row_phase(p, it.q_begin, it.q_len, row0 + 8, row_gen, 1);
    }
    cp_async_wait<0>();
    fence_proxy_async_smem();
    named_bar_sync(1 + wg, 128);
    trace_event(k, kTraceQReady);
    if constexpr (!kEarlySetup) {
      row_pos[0] = row_phase(p, it.q_begin, it.q_len, row0, row_gen, 0);
      row_pos[1] = row_phase(p, it.q_begin, it.q_len, row0 + 8, row_gen, 1);
    }
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
    float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
    auto softmax = [&](int i, float (&alpha)[2]) {
      const int k0 = tiles.tile(i) * kBN;
      if (!keys.tile_full(k0, kBN)) mask_scores<kBN>(s, p, row_pos, row_gen, k0);
#pragma unroll
      for (int h = 0; h < 2; ++h) alpha[h] = softmax_row_exp<kBN>(s, h, row_max[h], row_sum[h], scale_log2);
    };

    float alpha[2];
    mbar_wait(smem_u32(&bars.full_k[g % kStages]), full_parity(g));
    my_turn();
    issue_qk(g % kStages);
    your_turn();
    wgmma_wait<0>();
    wgmma_hold(s);
    trace_event(k, kTraceFirstScores);
    release(bars.empty_k[g % kStages]);
    softmax(0, alpha);
    pack_c_to_a<kBN>(s, pk);
    for (int i = 1; i < num_tiles; ++i) {
      const int gi = g + i, st = gi % kStages, prev = (gi - 1) % kStages;
      mbar_wait(smem_u32(&bars.full_k[st]), full_parity(gi));
      mbar_wait(smem_u32(&bars.full_v[prev]), full_parity(gi - 1));
      my_turn();
      issue_qk(st);
      issue_pv(prev);
      your_turn();
      wgmma_wait<1>();  // S_i is in; P_{i-1} V_{i-1} may still run
      wgmma_hold(s);
      release(bars.empty_k[st]);
      softmax(i, alpha);
      wgmma_hold(s);
      wgmma_wait<0>();
      wgmma_hold(o);
      wgmma_hold_a(pk);
      release(bars.empty_v[prev]);
#pragma unroll
      for (int h = 0; h < 2; ++h) rescale_row<kD / 8>(o, h, alpha[h]);
      pack_c_to_a<kBN>(s, pk);
    }
    const int gl = g + num_tiles - 1, last = gl % kStages;
    trace_event(k, kTraceLoopDone);
    mbar_wait(smem_u32(&bars.full_v[last]), full_parity(gl));
    my_turn();
    issue_pv(last);
    // Warpgroup 1 issues the CTA's very last MMAs: no arrival left without its sync.
    if (wg == 0 || w.slot(next) < w.count()) your_turn();
    wgmma_wait<0>();
    wgmma_hold(o);
    trace_event(k, kTraceLastProduct);
    release(bars.empty_v[last]);  // the producer may refill it for the next item
    if (kTmaStore && it.m0 + wg * 64 + 64 <= it.q_len) {
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
        const int row = it.q_begin + it.m0 + wg * 64;
        tma_store_3d(&a.out_rows, 0, it.head, row, dst);
        tma_store_3d(&a.out_rows, 64, it.head, row, dst + 64 * 128);
        bulk_commit();
      }
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        store_out_row<kD / 8>(p.out, p.num_heads, it.head, it.q_begin, it.q_len, row0 + 8 * h, o, h, row_sum[h], lane);
      }
    }
    trace_event(k, kTraceStored);
    g += num_tiles;
    k = next;
  }
  if (kTmaStore && tid % 128 == 0) bulk_wait_read<0>();  // the staging buffer outlives its last store's reads
  if (kTrace && tid % 128 == 0) *trace_at(a, kTraceEndNs + wg) = global_ns();
#else
  __trap();  // built without sm_90a (SWAA_CUDA_ARCHS=90a has wgmma): the launch fails loudly
#endif
}

// cuTensorMapEncodeTiled from the driver, found once through the runtime (no link against libcuda).
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q) != cudaSuccess ||
        q != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      f = nullptr;
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// A map of a bf16 tensor [rows][heads][128] (the K or V cache: num_slots x num_kv_heads; the output:
// num_tokens x num_heads) with boxes of 64 columns x 1 head x box_rows rows, 128-byte swizzled (the
// layout sw128_offset and the wgmma descriptors use).
std::string encode_rows_map(CUtensorMap* map, const void* base, int heads, long long rows, int box_rows) {
  auto encode = tensor_map_encoder();
  if (encode == nullptr) return "the driver has no cuTensorMapEncodeTiled";
  const cuuint64_t dims[3] = {static_cast<cuuint64_t>(kD), static_cast<cuuint64_t>(heads),
                              static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[2] = {kD * 2, static_cast<cuuint64_t>(heads) * kD * 2};
  const cuuint32_t box[3] = {64, 1, static_cast<cuuint32_t>(box_rows)};
  const cuuint32_t elem_strides[3] = {1, 1, 1};
  const CUresult r = encode(map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, const_cast<void*>(base), dims, strides, box,
                            elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return "cuTensorMapEncodeTiled failed (CUresult " + std::to_string(static_cast<int>(r)) + ")";
  return "";
}

// The kernel's switches (read at each launch, for A/B in one process): on unless the variable is "0".
bool switched_on(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr || std::string(v) != "0";
}
bool early_setup_on() { return switched_on("SWAA_PREFILL_EARLY_SETUP"); }
bool tma_store_on() { return switched_on("SWAA_PREFILL_TMA_STORE"); }

// CTAs of a launch over `items` query tiles.
int launch_grid(long long items, PrefillSchedule schedule) {
  if (schedule == PrefillSchedule::kPersistent || schedule == PrefillSchedule::kPersistentHeadMajor) {
    return static_cast<int>(std::min<long long>(items, num_sms()));
  }
  if (schedule == PrefillSchedule::kPersistentOn3) return static_cast<int>(std::min<long long>(items, 3));
  return static_cast<int>(items);
}

}  // namespace

PrefillTrace prefill_trace_shape(const AttentionParams& p, PrefillSchedule schedule) {
  const long long items = static_cast<long long>((p.max_seqlen_q + kBM - 1) / kBM) * p.num_heads * p.num_seqs;
  PrefillTrace t;
  t.grid = launch_grid(items, schedule);
  t.rounds = t.grid > 0 ? static_cast<int>((items + t.grid - 1) / t.grid) : 0;
  return t;
}

bool prefill_tma_supported(const AttentionParams& p) {
  const int bs = p.block_size;
  const bool pages = bs >= 8 && (128 % bs == 0 || bs % 128 == 0);  // >= 8 rows: the swizzle's period
  return p.head_dim == kD && pages && p.num_slots > 0 && p.num_slots % bs == 0 &&
         (reinterpret_cast<uintptr_t>(p.k_cache) % 16) == 0 && (reinterpret_cast<uintptr_t>(p.v_cache) % 16) == 0 &&
         tensor_map_encoder() != nullptr;
}

PrefillSchedule prefill_tma_schedule(const AttentionParams& p) {
  if (early_setup_on() && tma_store_on()) return PrefillSchedule::kPersistent;
  const bool windowed = p.sliding && p.max_seqlen_q > 2LL * p.window;
  return windowed || p.max_seqlen_q <= kPlainPersistentMaxQueries ? PrefillSchedule::kPersistent
                                                                  : PrefillSchedule::kPerTile;
}

std::string attention_prefill_sm90_tma(const AttentionParams& p, void* stream) {
  // SWAA_PREFILL_SCHEDULE=tile / persistent / persistent_head: A/B switch; else the choice.
  static const std::optional<PrefillSchedule> forced = []() -> std::optional<PrefillSchedule> {
    const char* v = std::getenv("SWAA_PREFILL_SCHEDULE");
    const std::string s = v != nullptr ? v : "";
    if (s == "tile") return PrefillSchedule::kPerTile;
    if (s == "persistent") return PrefillSchedule::kPersistent;
    if (s == "persistent_head") return PrefillSchedule::kPersistentHeadMajor;
    return std::nullopt;
  }();
  return attention_prefill_sm90_tma_schedule(p, forced ? *forced : prefill_tma_schedule(p), stream);
}

std::string attention_prefill_sm90_tma_schedule(const AttentionParams& p, PrefillSchedule schedule, void* stream,
                                                const PrefillTrace* trace) {
  std::string err = check_hopper_prefill(p);
  if (!err.empty()) return "attention_prefill_sm90_tma: " + err;
  if (p.num_tokens == 0) return "";
  if (!prefill_tma_supported(p)) {
    return "attention_prefill_sm90_tma: needs head_dim 128, num_slots > 0 and a block_size >= 8 dividing 128 or a "
           "multiple of 128; got head_dim " +
           std::to_string(p.head_dim) + ", num_slots " + std::to_string(p.num_slots) + ", block_size " +
           std::to_string(p.block_size);
  }
  TmaArgs a;
  a.p = p;
  a.trace = trace != nullptr ? trace->records : nullptr;
  a.trace_rounds = trace != nullptr ? trace->rounds : 0;
  a.page_rows = p.block_size < kBN ? p.block_size : kBN;
  // kEarlySetup / kTmaStore: on for every layer, measured for full attention and sliding windows
  // (2026-12-03/04, bench/attention_notes.md). SWAA_PREFILL_EARLY_SETUP / SWAA_PREFILL_TMA_STORE =0
  // turns either off.
  const bool early = early_setup_on();
  const bool tma_store = tma_store_on() && reinterpret_cast<uintptr_t>(p.out) % 16 == 0;
  err = encode_rows_map(&a.k_page, p.k_cache, p.num_kv_heads, p.num_slots, a.page_rows);
  if (err.empty()) err = encode_rows_map(&a.v_page, p.v_cache, p.num_kv_heads, p.num_slots, a.page_rows);
  if (err.empty()) err = encode_rows_map(&a.k_tile, p.k_cache, p.num_kv_heads, p.num_slots, kBN);
  if (err.empty()) err = encode_rows_map(&a.v_tile, p.v_cache, p.num_kv_heads, p.num_slots, kBN);
  if (err.empty() && tma_store) err = encode_rows_map(&a.out_rows, p.out, p.num_heads, p.num_tokens, 64);
  if (err.empty()) {
    WorkItems w;
    w.m_blocks = (p.max_seqlen_q + kBM - 1) / kBM, w.heads = p.num_heads, w.seqs = p.num_seqs;
    w.lpt = schedule == PrefillSchedule::kPersistent || schedule == PrefillSchedule::kPersistentOn3;
    w.snake = schedule != PrefillSchedule::kPerTile;
    const long long items = static_cast<long long>(w.m_blocks) * w.heads * w.seqs;
    if (items > (1ll << 31) - 1) return "attention_prefill_sm90_tma: too many query tiles: " + std::to_string(items);
    const int grid = launch_grid(items, schedule);
    if (trace != nullptr && trace->grid != grid) {
      return "attention_prefill_sm90_tma: the trace has room for " + std::to_string(trace->grid) +
             " CTAs, the launch has " + std::to_string(grid);
    }
    using Kernel = void (*)(TmaArgs, WorkItems);
    static constexpr Kernel kernels[2][2][2] = {
        {{prefill_tma_kernel<false, false, false>, prefill_tma_kernel<false, false, true>},
         {prefill_tma_kernel<false, true, false>, prefill_tma_kernel<false, true, true>}},
        {{prefill_tma_kernel<true, false, false>, prefill_tma_kernel<true, false, true>},
         {prefill_tma_kernel<true, true, false>, prefill_tma_kernel<true, true, true>}}};
    const Kernel kernel = kernels[trace != nullptr][early][tma_store];
    const int smem = kSmem + (tma_store ? kOutBytes : 0);
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    if (e == cudaSuccess) {
      kernel<<<grid, kThreads, smem, static_cast<cudaStream_t>(stream)>>>(a, w);
      e = cudaGetLastError();
      if (e != cudaSuccess) err = std::string("launch failed: ") + cudaGetErrorString(e);
    } else {
      err = cudaGetErrorString(e);
    }
  }
  return err.empty() ? "" : "attention_prefill_sm90_tma: " + err;
}

}  // namespace swaa::cuda
