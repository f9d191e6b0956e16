// Device side of the SWAA mask (../../../shared/SWAA.md §2), the single copy used by the prefill,
// decode and training kernels. Mirrors swaa::visible_ranges (src/attention/layer_policy.cc): the
// visible keys of a query are [0, sink_end) ∪ [window_begin, pos + 1) with sink_end <= window_begin.
// Tests: tests/kernels/attention_kernel_test.cc (against the fp64 reference of tests/reference/).
#pragma once

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

__device__ __forceinline__ bool key_visible(const RowRange& r, int key) {
  return key < r.end && (key >= r.window_begin || key < r.sink_end);
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

}  // namespace swaa::cuda
