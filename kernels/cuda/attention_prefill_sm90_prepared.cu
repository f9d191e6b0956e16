// The TMA prefill with items prepared by the producer warp (SWAA_PREFILL_PREPARED, on by default;
// =0 runs the kernel of attention_prefill_sm90_tma.cu, whose consumers load each item's setup and
// Q themselves). Same tiles, stage ring, turn taking and O store as that kernel; what differs is
// how an item starts:
//  - The producer warp loads the 128 rows' positions and phase bits, writes them with the key
//    ranges into a two-slot ring in shared memory (setup_full / setup_empty), and loads the item's
//    Q tile with TMA into one of two Q buffers (q_full / q_empty), before the item's K and V tiles,
//    so both are ready before the consumers finish the item before it. The consumers do no global
//    loads outside the key-tile loop.
//  - The consumer warpgroups read the setup from shared memory and start on Q K_0^T at once.
// H200, settled A/B against the per-item kernel (bench/attention_notes.md, "Items prepared by the
// producer"): full causal 8k / 32k / 128k 580.0 / 600.5 / 606.2 TFLOP/s against 565.7 / 589.7 /
// 603.1; W = 2048 +2-5%. Issuing the next item's Q K_0^T beside the last P V (a cross-item turn)
// was measured on top of this and was slower; not kept.
#include <cuda_runtime.h>

#include <string>

#include "attention_prefill_tma.cuh"

namespace swaa::cuda::prefill_tma {
namespace {

// An item as the producer hands it over. pos: the rows' positions (-1 past q_len); gen: their
// phase bits (bit r % 32 of word r / 32); end: no item left (the rest is unset).
struct ItemSetup {
  int q_begin, q_len, m0, head;
  CtaKeyRanges keys;
  int end;
  int pos[kBM];
  unsigned gen[kBM / 32];
};

struct PreparedBarriers {
  Barriers ring;                                     // the K and V stages
  unsigned long long q_full[2], q_empty[2];          // Q buffer b: items c with c % 2 == b
  unsigned long long setup_full[2], setup_empty[2];  // setup slot b: the same items
};

// Q (two buffers), K and V stages, O staging, + 1024 to align.
constexpr int kPreparedSmem = (2 + 2 * kStages) * kTileBytes + kOutBytes + 1024;

__global__ void __launch_bounds__(kThreads, 1) prefill_prepared_kernel(const __grid_constant__ TmaArgs a,
                                                                     const WorkItems w) {
#if SWAA_WGMMA_AVAILABLE
  const AttentionParams& p = a.p;
  extern __shared__ unsigned char smem_raw[];
  __shared__ PreparedBarriers bars;
  __shared__ ItemSetup setups[2];
  const uint32_t q_smem = (smem_u32(smem_raw) + 1023u) & ~1023u;  // buffer b at + b tiles
  const uint32_t k_smem = q_smem + 2 * kTileBytes;
  const uint32_t v_smem = k_smem + kStages * kTileBytes;
  const uint32_t out_smem = v_smem + kStages * kTileBytes;

  const int first = next_item(p, w, -1);
  if (w.slot(first) >= w.count()) return;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  constexpr unsigned kConsumerWarps = kConsumerThreads / 32;
  if (tid == 0) {
    init_stage_ring(bars.ring);
    for (int b = 0; b < 2; ++b) {
      mbar_init(smem_u32(&bars.q_full[b]), 1);
      mbar_init(smem_u32(&bars.q_empty[b]), kConsumerWarps);
      // The setup ring's slots are written and read with plain shared-memory accesses: every
      // writing or reading thread arrives (an arrival releases only its own thread's accesses).
      mbar_init(smem_u32(&bars.setup_full[b]), 32);
      mbar_init(smem_u32(&bars.setup_empty[b]), kConsumerThreads);
    }
    fence_mbar_init();
  }
  if (warp == kProducerWarp && lane == 0) {
    tma_prefetch_map(&a.q_rows);
    prefetch_kv_maps(a);
  }
  __syncthreads();  // the barriers' initialisation, to every thread
  // Phase parity of the n-th use (from 0) of a two-slot resource.
  auto use_parity = [](int n) { return static_cast<uint32_t>((n >> 1) & 1); };

  if (warp >= kProducerWarp) {
    setmaxnreg_dec<kProducerRegs>();
    if (warp != kProducerWarp) return;
    int g = 0, c = 0;
    for (int k = first; w.slot(k) < w.count(); k = next_item(p, w, k), ++c) {
      const PrefillCta<kBM> it = w.item(p, w.slot(k));
      const int b = c & 1;
      // The setup slot: free once the consumers have stored item c - 2.
      if (c >= 2) mbar_wait(smem_u32(&bars.setup_empty[b]), use_parity(c - 2));
      ItemSetup& su = setups[b];
      // warp_key_ranges_batched's loads and merge, each row also kept in the slot.
      int pos[kBM / 32];
      bool gen[kBM / 32];
#pragma unroll
      for (int j = 0; j < kBM / 32; ++j) {  // every load first: one memory round trip
        const int r = it.m0 + lane + 32 * j;
        pos[j] = r < it.q_len ? p.positions[it.q_begin + r] : -1;
        gen[j] = r < it.q_len && p.generated[it.q_begin + r] != 0;
      }
      KeyBounds kb = KeyBounds::none();
#pragma unroll
      for (int j = 0; j < kBM / 32; ++j) {
        su.pos[lane + 32 * j] = pos[j];
        const unsigned bits = __ballot_sync(0xffffffffu, gen[j]);
        if (lane == 0) su.gen[j] = bits;
        if (it.m0 + lane + 32 * j < it.q_len) kb.merge(KeyBounds::of_range(row_range(p, pos[j], gen[j])));
      }
      const CtaKeyRanges keys = kb.warp_merged().ranges();
      if (lane == 0) {
        su.q_begin = it.q_begin, su.q_len = it.q_len, su.m0 = it.m0, su.head = it.head;
        su.keys = keys;
        su.end = 0;
      }
      mbar_arrive(smem_u32(&bars.setup_full[b]));
      // The Q buffer: free once the consumers' last Q K^T of item c - 2 is done. Rows past the
      // tensor's end come as zeros; rows of the next sequence are read but masked (pos -1).
      if (c >= 2) mbar_wait(smem_u32(&bars.q_empty[b]), use_parity(c - 2));
      if (lane == 0) {
        const uint32_t q_bar = smem_u32(&bars.q_full[b]), dst = q_smem + b * kTileBytes;
        mbar_arrive_expect_tx(q_bar, kTileBytes);
        tma_load_3d(dst, &a.q_rows, 0, it.head, it.q_begin + it.m0, q_bar);
        tma_load_3d(dst + kHalfBytes, &a.q_rows, 64, it.head, it.q_begin + it.m0, q_bar);
      }
      fill_item_tiles(a, it, keys.tiles<kBN>(), g, bars.ring, k_smem, v_smem);
    }
    const int b = c & 1;  // the end marker, in the slot after the last item
    if (c >= 2) mbar_wait(smem_u32(&bars.setup_empty[b]), use_parity(c - 2));
    if (lane == 0) setups[b].end = 1;
    mbar_arrive(smem_u32(&bars.setup_full[b]));
    return;
  }

  setmaxnreg_inc<kConsumerRegs>();
  // Consumers: warpgroup wg owns rows [wg * 64, wg * 64 + 64) of each item; this thread's rows in
  // the accumulators are lr and lr + 8 (of the item: m0 + lr).
  const int wg = warp / 4, warp_in_wg = warp % 4;
  const int lr = wg * 64 + warp_in_wg * 16 + lane / 4;
  const float scale_log2 = p.softmax_scale * kLog2e;
  float o[kD / 8][4];
  float s[kBN / 8][4];
  uint32_t pk[kBN / 16][4];
  // This warpgroup's 64 rows of item c's Q buffer, broadcast from lane 0 so ptxas knows it is
  // warp-uniform and builds the wgmma descriptor once per item, outside the key-tile loop.
  auto q_of = [&](int c) {
    return __shfl_sync(0xffffffffu, q_smem + (c & 1) * kTileBytes + wg * 64 * 128, 0);
  };
  auto issue_qk = [&](uint32_t q_wg, int st) { wgmma_qk_128(s, q_wg, k_smem + st * kTileBytes); };
  auto issue_pv = [&](int st) { wgmma_pv_128(o, pk, v_smem + st * kTileBytes); };
  auto release = [&](unsigned long long& bar) {
    if (lane == 0) mbar_arrive(smem_u32(&bar));  // after the warp's wgmma_wait: its reads are done
  };
  auto my_turn = [&] { named_bar_sync(3 + wg, 256); };
  auto your_turn = [&] { named_bar_arrive(3 + (1 - wg), 256); };
  auto full_parity = [](int i) { return static_cast<uint32_t>((i / kStages) & 1); };
  if (wg == 1) your_turn();  // warpgroup 0 goes first

  // What a consumer thread keeps of an item: its key ranges and tiles, its two rows' phases.
  struct Item {
    CtaKeyRanges keys;
    TileList tiles;
    int n;  // tiles.size(), warp-uniform
    int pos[2];
    unsigned gen;
  };
  // Item c from its setup slot; false at the end marker.
  auto read_item = [&](int c, Item& it) {
    mbar_wait(smem_u32(&bars.setup_full[c & 1]), use_parity(c));
    const ItemSetup& su = setups[c & 1];
    if (__shfl_sync(0xffffffffu, su.end, 0) != 0) return false;
    it.keys = su.keys;
    it.tiles = it.keys.tiles<kBN>();
    // Broadcast from lane 0 so ptxas knows it is warp-uniform (the stage index and the wgmma
    // descriptors depend on it; attention_prefill_sm90_tma.cu says what per-thread values cost).
    it.n = __shfl_sync(0xffffffffu, it.tiles.size(), 0);
    it.gen = 0;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = lr + 8 * h;
      it.pos[h] = su.pos[r];
      it.gen |= ((su.gen[r / 32] >> (r % 32)) & 1u) << h;
    }
    return true;
  };
  auto softmax = [&](const Item& it, int i, float (&row_max)[2], float (&row_sum)[2], float (&alpha)[2]) {
    const int k0 = it.tiles.tile(i) * kBN;
    if (!it.keys.tile_full(k0, kBN)) mask_scores<kBN>(s, p, it.pos, it.gen, k0);
#pragma unroll
    for (int h = 0; h < 2; ++h) alpha[h] = softmax_row_exp<kBN>(s, h, row_max[h], row_sum[h], scale_log2);
  };
  // Item c's O, then its setup slot back to the producer.
  auto store = [&](int c, const float (&row_sum)[2]) {
    const ItemSetup& su = setups[c & 1];
    store_o(a, true, out_smem, su.head, su.q_begin, su.m0, su.q_len, su.m0 + lr, o, row_sum);
    mbar_arrive(smem_u32(&bars.setup_empty[c & 1]));
  };

  Item cur;
  read_item(0, cur);  // there is a first item
  float row_max[2], row_sum[2], alpha[2];
  // Item c's first turn, Q K_0^T alone (g: the stage ring's tiles before item c).
  auto first_turn = [&](int c, int g) {
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
#pragma unroll
    for (int h = 0; h < 2; ++h) row_max[h] = -INFINITY, row_sum[h] = 0.f;
    const int st = g % kStages;
    mbar_wait(smem_u32(&bars.q_full[c & 1]), use_parity(c));
    mbar_wait(smem_u32(&bars.ring.full_k[st]), full_parity(g));
    my_turn();
    issue_qk(q_of(c), st);
    your_turn();
    wgmma_wait<0>();
    wgmma_hold(s);
    release(bars.ring.empty_k[st]);
    softmax(cur, 0, row_max, row_sum, alpha);
    pack_c_to_a<kBN>(s, pk);
  };
  first_turn(0, 0);
  int g = 0;  // the stage ring's tiles before item c
  for (int c = 0;; ++c) {
    const int n = cur.n;
    const uint32_t q_cur = q_of(c);
    for (int i = 1; i < n; ++i) {
      // gi broadcast from lane 0, so ptxas knows it is warp-uniform: in a version of this kernel
      // with a cross-item turn it took g and i for per-thread values and built every stage's wgmma
      // descriptor in regular registers, an R2UR before each wgmma (cuobjdump: 40 R2UR in this
      // loop; 2 in this kernel, 18 in the per-item kernel's).
      const int gi = __shfl_sync(0xffffffffu, g + i, 0), st = gi % kStages, prev = (gi - 1) % kStages;
      mbar_wait(smem_u32(&bars.ring.full_k[st]), full_parity(gi));
      mbar_wait(smem_u32(&bars.ring.full_v[prev]), full_parity(gi - 1));
      my_turn();
      issue_qk(q_cur, st);
      issue_pv(prev);
      your_turn();
      wgmma_wait<1>();  // S_i is in; P_{i-1} V_{i-1} may still run
      wgmma_hold(s);
      release(bars.ring.empty_k[st]);
      softmax(cur, i, row_max, row_sum, alpha);
      wgmma_hold(s);
      wgmma_wait<0>();
      wgmma_hold(o);
      wgmma_hold_a(pk);
      release(bars.ring.empty_v[prev]);
#pragma unroll
      for (int h = 0; h < 2; ++h) rescale_row<kD / 8>(o, h, alpha[h]);
      pack_c_to_a<kBN>(s, pk);
    }
    release(bars.q_empty[c & 1]);  // every Q K^T of item c is done
    const int gl = g + n - 1, last = gl % kStages;
    Item nx;
    const bool more = read_item(c + 1, nx);
    mbar_wait(smem_u32(&bars.ring.full_v[last]), full_parity(gl));
    my_turn();  // P V_last alone
    issue_pv(last);
    if (wg == 0 || more) your_turn();  // warpgroup 1 issues the CTA's very last MMAs
    wgmma_wait<0>();
    wgmma_hold(o);
    release(bars.ring.empty_v[last]);
    store(c, row_sum);
    if (!more) break;
    g += n;
    cur = nx;
    first_turn(c + 1, g);
  }
  if (tid % 128 == 0) bulk_wait_read<0>();  // the staging buffer outlives its last store's reads
#else
  __trap();  // built without sm_90a (SWAA_CUDA_ARCHS=90a has wgmma): the launch fails loudly
#endif
}

}  // namespace

std::string launch_prefill_prepared(const TmaArgs& a, const WorkItems& w, int grid, cudaStream_t stream) {
  cudaError_t e =
      cudaFuncSetAttribute(prefill_prepared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kPreparedSmem);
  if (e != cudaSuccess) return std::string("shared memory of the prepared-items kernel: ") + cudaGetErrorString(e);
  prefill_prepared_kernel<<<grid, kThreads, kPreparedSmem, stream>>>(a, w);
  e = cudaGetLastError();
  return e == cudaSuccess ? "" : std::string("launch of the prepared-items kernel failed: ") + cudaGetErrorString(e);
}

}  // namespace swaa::cuda::prefill_tma
