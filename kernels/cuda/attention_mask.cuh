// Device side of the SWAA mask (../../../shared/SWAA.md §2), the single copy used by the prefill,
// decode and training kernels. Mirrors swaa::visible_ranges (src/attention/layer_policy.cc): the
// visible keys of a query are [0, sink_end) ∪ [window_begin, pos + 1) with sink_end <= window_begin.
// Tests: tests/kernels/attention_kernel_test.cc (against the fp64 reference of tests/reference/).
#pragma once

#include <climits>

#include "swaa_attention.h"

namespace swaa::cuda {

struct RowRange {
  int sink_end;      // keys [0, sink_end) visible
  int window_begin;  // keys [window_begin, end) visible
  int end;           // pos + 1
};

// pos < 0 marks a padding row: nothing visible. Params: AttentionParams or TrainAttentionParams
// (any struct with the policy fields sliding, window, keep_first, fa_decode).
template <class Params>
__device__ __forceinline__ RowRange row_range(const Params& p, int pos, bool generated) {
  RowRange r;
  r.end = pos + 1;
  if (pos < 0) {
    r.sink_end = 0;
    r.window_begin = 0;
    r.end = 0;
  } else if (!p.sliding || (generated && p.fa_decode)) {
    r.sink_end = 0;
    r.window_begin = 0;
  } else {
    r.window_begin = max(0, pos - p.window + 1);
    r.sink_end = min(p.keep_first, r.window_begin);
  }
  return r;
}

// Bitwise, not short-circuit: three compares and no branch (a tile mask calls it 64 times a row).
__device__ __forceinline__ bool key_visible(const RowRange& r, int key) {
  return (key < r.end) & ((key >= r.window_begin) | (key < r.sink_end));
}

// What a prefill CTA works on: query tile m_block (rows [m_block * kBM, ...) of the sequence) of
// query head `head`. From blockIdx = (query tile, query head, sequence), query tiles are taken in
// reverse so the longest causal rows start first. empty(): the tile lies past the sequence's rows.
template <int kBM>
struct PrefillCta {
  int seq, head, kv_head;
  int q_begin, q_len;  // the sequence's query rows in the batch
  int m0;              // the tile's first row within them
  __device__ __forceinline__ PrefillCta(const AttentionParams& p, int seq_, int head_, int m_block)
      : seq(seq_), head(head_), kv_head(head_ / (p.num_heads / p.num_kv_heads)) {
    q_begin = p.cu_seqlens_q[seq];
    q_len = p.cu_seqlens_q[seq + 1] - q_begin;
    m0 = m_block * kBM;
  }
  // (Not delegating: this keeps the grid kernels' index arithmetic unsigned, as measured.)
  __device__ __forceinline__ explicit PrefillCta(const AttentionParams& p)
      : seq(blockIdx.z), head(blockIdx.y), kv_head(blockIdx.y / (p.num_heads / p.num_kv_heads)) {
    q_begin = p.cu_seqlens_q[seq];
    q_len = p.cu_seqlens_q[seq + 1] - q_begin;
    m0 = (gridDim.x - 1 - blockIdx.x) * kBM;
  }
  __device__ __forceinline__ bool empty() const { return m0 >= q_len; }
};

// Position (-1 past q_len: sees nothing) and phase bit `bit` of query row r of a sequence.
__device__ __forceinline__ int row_phase(const AttentionParams& p, int q_begin, int q_len, int r, unsigned& gen,
                                         int bit) {
  if (r >= q_len) return -1;
  if (p.generated[q_begin + r] != 0) gen |= 1u << bit;
  return p.positions[q_begin + r];
}

// The key tiles (of kTileN keys) a set of rows needs, in the order a kernel walks them: a list of
// at most two tile ranges, the sink tiles [0, sink_tiles) then the window tiles [win_lo, win_hi),
// merged into one range when they touch. Tile t covers keys [t * kTileN, (t + 1) * kTileN).
struct TileList {
  int sink_tiles;  // tiles [0, sink_tiles)
  int win_lo;      // tiles [win_lo, win_hi)
  int win_hi;
  __device__ __forceinline__ int size() const { return sink_tiles + (win_hi - win_lo); }
  // i-th tile of the walk: i in [0, size()).
  __device__ __forceinline__ int tile(int i) const { return i < sink_tiles ? i : win_lo + (i - sink_tiles); }
};

// From the union over rows: max sink_end, min window_begin, max end (rows with nothing visible left out).
template <int kTileN>
__device__ __forceinline__ TileList make_tile_list(int max_sink_end, int min_window_begin, int max_end) {
  TileList t;
  if (max_end <= 0) {
    t.sink_tiles = 0;
    t.win_lo = t.win_hi = 0;
    return t;
  }
  t.win_lo = min_window_begin / kTileN;
  t.win_hi = (max_end + kTileN - 1) / kTileN;
  t.sink_tiles = (max_sink_end + kTileN - 1) / kTileN;
  if (t.sink_tiles >= t.win_lo) {  // sinks reach the window's first tile: one contiguous range
    t.sink_tiles = 0;
    t.win_lo = 0;
  }
  return t;
}

// What the kBM query rows [m0, m0 + kBM) of a prefill CTA see together: the union of their ranges
// (which keys to load, which tiles to walk) and their intersection (which tiles need no mask).
// Rows past q_len are left out. Every one of the CTA's kThreads threads calls it (two barriers).
struct CtaKeyRanges {
  int need_sink_end, need_lo, need_hi;  // union: keys [0, need_sink_end) ∪ [need_lo, need_hi)
  int all_end, all_wb, all_sink_end;    // intersection bounds
  __device__ __forceinline__ bool needed(int key) const {
    return key < need_sink_end || (key >= need_lo && key < need_hi);
  }
  // Every row sees every key of [k0, k0 + n).
  __device__ __forceinline__ bool tile_full(int k0, int n) const {
    return k0 + n <= all_end && (k0 >= all_wb || k0 + n <= all_sink_end);
  }
  template <int kTileN>
  __device__ __forceinline__ TileList tiles() const {
    return make_tile_list<kTileN>(need_sink_end, need_lo, need_hi);
  }
};

// Bounds of the visible keys of a set of rows (CtaKeyRanges' fields before the CTA-wide merge):
// none() for no row, of_row(t) for batch row t, merged with min / max per field.
struct KeyBounds {
  int max_sink_end, min_wb, max_end, min_end, max_wb, min_sink_end;
  __device__ __forceinline__ static KeyBounds none() { return {0, INT_MAX, 0, INT_MAX, 0, INT_MAX}; }
  __device__ __forceinline__ static KeyBounds of_range(const RowRange& rr) {
    return {rr.sink_end, rr.window_begin, rr.end, rr.end, rr.window_begin, rr.sink_end};
  }
  __device__ __forceinline__ static KeyBounds of_row(const AttentionParams& p, int t) {
    return of_range(row_range(p, p.positions[t], p.generated[t] != 0));
  }
  __device__ __forceinline__ void merge(const KeyBounds& b) {
    max_sink_end = max(max_sink_end, b.max_sink_end), min_sink_end = min(min_sink_end, b.min_sink_end);
    min_wb = min(min_wb, b.min_wb), max_wb = max(max_wb, b.max_wb);
    max_end = max(max_end, b.max_end), min_end = min(min_end, b.min_end);
  }
  // Merged over the 32 lanes of the warp (every lane gets the result).
  __device__ __forceinline__ KeyBounds warp_merged() const {
    return {__reduce_max_sync(0xffffffffu, max_sink_end), __reduce_min_sync(0xffffffffu, min_wb),
            __reduce_max_sync(0xffffffffu, max_end),      __reduce_min_sync(0xffffffffu, min_end),
            __reduce_max_sync(0xffffffffu, max_wb),       __reduce_min_sync(0xffffffffu, min_sink_end)};
  }
  __device__ __forceinline__ CtaKeyRanges ranges() const {
    return {max_sink_end, min_wb, max_end, min_end, max_wb, min_sink_end};
  }
};

template <int kBM, int kThreads>
__device__ __forceinline__ CtaKeyRanges cta_key_ranges(const AttentionParams& p, int q_begin, int m0, int q_len) {
  __shared__ int s_max_sink_end, s_min_wb, s_max_end, s_min_end, s_max_wb, s_min_sink_end;
  const int tid = threadIdx.x;
  if (tid == 0) {
    s_max_sink_end = 0, s_min_wb = INT_MAX, s_max_end = 0;
    s_min_end = INT_MAX, s_max_wb = 0, s_min_sink_end = INT_MAX;
  }
  __syncthreads();
  for (int r0 = 0; r0 < kBM; r0 += kThreads) {  // warp reductions, then one atomic per warp
    const int r = r0 + tid;
    const KeyBounds b =
        (r < kBM && m0 + r < q_len ? KeyBounds::of_row(p, q_begin + m0 + r) : KeyBounds::none()).warp_merged();
    if (tid % 32 == 0) {
      atomicMax(&s_max_sink_end, b.max_sink_end);
      atomicMin(&s_min_wb, b.min_wb);
      atomicMax(&s_max_end, b.max_end);
      atomicMin(&s_min_end, b.min_end);
      atomicMax(&s_max_wb, b.max_wb);
      atomicMin(&s_min_sink_end, b.min_sink_end);
    }
  }
  __syncthreads();
  return {s_max_sink_end, s_min_wb, s_max_end, s_min_end, s_max_wb, s_min_sink_end};
}

// cta_key_ranges computed by one warp alone, without a barrier (the persistent prefill, whose
// warpgroups reach a new tile at different times): lane l takes rows l, l + 32, ...
template <int kBM>
__device__ __forceinline__ CtaKeyRanges warp_key_ranges(const AttentionParams& p, int q_begin, int m0, int q_len) {
  KeyBounds b = KeyBounds::none();
  for (int r = threadIdx.x % 32; r < kBM && m0 + r < q_len; r += 32) b.merge(KeyBounds::of_row(p, q_begin + m0 + r));
  return b.warp_merged().ranges();
}
// The same, loading every row's position and phase first (one memory round trip, not one per row).
template <int kBM>
__device__ __forceinline__ CtaKeyRanges warp_key_ranges_batched(const AttentionParams& p, int q_begin, int m0,
                                                                int q_len) {
  constexpr int kRows = kBM / 32;
  int pos[kRows];
  bool gen[kRows];
#pragma unroll
  for (int j = 0; j < kRows; ++j) {
    const int r = m0 + threadIdx.x % 32 + 32 * j;
    pos[j] = r < q_len ? p.positions[q_begin + r] : 0;
    gen[j] = r < q_len && p.generated[q_begin + r] != 0;
  }
  KeyBounds b = KeyBounds::none();
#pragma unroll
  for (int j = 0; j < kRows; ++j) {
    if (m0 + threadIdx.x % 32 + 32 * j < q_len) b.merge(KeyBounds::of_range(row_range(p, pos[j], gen[j])));
  }
  return b.warp_merged().ranges();
}

// Sets to -inf the scores of an m16 x kN C-fragment tile (keys from k0) that row half h (position
// pos[h], generated bit h of gen) must not see.
template <int kN>
__device__ __forceinline__ void mask_scores(float (&s)[kN / 8][4], const AttentionParams& p, const int (&pos)[2],
                                            unsigned gen, int k0) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    // The row's range relative to this lane's first column, so each element compares a constant.
    RowRange rr = row_range(p, pos[h], (gen >> h) & 1u);
    const int base = k0 + (lane % 4) * 2;
    rr.end -= base, rr.window_begin -= base, rr.sink_end -= base;
#pragma unroll
    for (int n = 0; n < kN / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        s[n][2 * h + e] = key_visible(rr, n * 8 + e) ? s[n][2 * h + e] : -INFINITY;
      }
    }
  }
}

}  // namespace swaa::cuda
