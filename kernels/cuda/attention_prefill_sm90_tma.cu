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

#include "attention_prefill_tma.cuh"
#include "device_info.h"

namespace swaa::cuda {
namespace {

using namespace prefill_tma;

// With early setup or the TMA store switched off, full-attention layers with more queries per
// sequence than this run one CTA per query tile (prefill_tma_schedule).
constexpr int kPlainPersistentMaxQueries = 8192;

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
    init_stage_ring(bars);
    fence_mbar_init();
  }
  if (warp == kProducerWarp && lane == 0) prefetch_kv_maps(a);
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
    int g = 0;
    for (int k = first; w.slot(k) < w.count(); k = next_item(p, w, k)) {
      const PrefillCta<kBM> it = w.item(p, w.slot(k));
      const TileList tiles = warp_key_ranges<kBM>(p, it.q_begin, it.m0, it.q_len).tiles<kBN>();
      fill_item_tiles(a, it, tiles, g, bars, k_smem, v_smem);
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
    store_o(a, kTmaStore, out_smem, it.head, it.q_begin, it.m0, it.q_len, row0, o, row_sum);
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
bool prepared_on() { return switched_on("SWAA_PREFILL_PREPARED"); }

// CTAs of a launch over `items` query tiles.
int launch_grid(long long items, PrefillSchedule schedule) {
  if (schedule == PrefillSchedule::kPersistent) {
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
  // SWAA_PREFILL_SCHEDULE=tile / persistent: A/B switch; else the choice.
  static const std::optional<PrefillSchedule> forced = []() -> std::optional<PrefillSchedule> {
    const char* v = std::getenv("SWAA_PREFILL_SCHEDULE");
    const std::string s = v != nullptr ? v : "";
    if (s == "tile") return PrefillSchedule::kPerTile;
    if (s == "persistent") return PrefillSchedule::kPersistent;
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
  // Items prepared by the producer warp (attention_prefill_sm90_prepared.cu; SWAA_PREFILL_PREPARED=0
  // turns it off): with both switches above on; Q loaded by TMA; not in the traced instantiation.
  const bool prepared =
      trace == nullptr && early && tma_store && prepared_on() && reinterpret_cast<uintptr_t>(p.q) % 16 == 0;
  err = encode_rows_map(&a.k_page, p.k_cache, p.num_kv_heads, p.num_slots, a.page_rows);
  if (err.empty()) err = encode_rows_map(&a.v_page, p.v_cache, p.num_kv_heads, p.num_slots, a.page_rows);
  if (err.empty()) err = encode_rows_map(&a.k_tile, p.k_cache, p.num_kv_heads, p.num_slots, kBN);
  if (err.empty()) err = encode_rows_map(&a.v_tile, p.v_cache, p.num_kv_heads, p.num_slots, kBN);
  if (err.empty() && tma_store) err = encode_rows_map(&a.out_rows, p.out, p.num_heads, p.num_tokens, 64);
  if (err.empty() && prepared) err = encode_rows_map(&a.q_rows, p.q, p.num_heads, p.num_tokens, kBM);
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
    if (prepared) {
      err = launch_prefill_prepared(a, w, grid, static_cast<cudaStream_t>(stream));
    } else {
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
  }
  return err.empty() ? "" : "attention_prefill_sm90_tma: " + err;
}

}  // namespace swaa::cuda
