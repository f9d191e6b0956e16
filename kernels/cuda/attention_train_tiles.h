// Which tiles the SWAA training kernels visit, in closed form (SWAA.md §2 with the §4 prompt/answer
// split): the keys some row of a query tile may see (forward), and the rows that see some key of a
// key tile (backward); also the element rule and the keys every row of a tile sees (tiles that
// need no per-element mask). Both are exact unions, so a kernel that walks them never loads a tile outside
// the mask and never misses one. Host and device; no CUDA headers, so CPU tests include it too.
// Tests: tests/kernels/attention_train_tiles_test.cc (label cpu, against reference::visible).
#pragma once

#if defined(__CUDACC__)
#define SWAA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define SWAA_HOST_DEVICE inline
#endif

namespace swaa::cuda {

// Indices [lo, hi); empty when lo >= hi (stored as {0, 0}).
struct Span {
  int lo = 0;
  int hi = 0;
  SWAA_HOST_DEVICE int size() const { return hi > lo ? hi - lo : 0; }
};

SWAA_HOST_DEVICE Span make_span(int lo, int hi) { return hi > lo ? Span{lo, hi} : Span{0, 0}; }

// At most two disjoint ascending spans: every index of `first` is below every index of `second`.
struct SpanPair {
  Span first;
  Span second;
  SWAA_HOST_DEVICE int size() const { return first.size() + second.size(); }
  // i-th index of the walk, i in [0, size()).
  SWAA_HOST_DEVICE int at(int i) const { return i < first.size() ? first.lo + i : second.lo + (i - first.size()); }
};

// The keys that at least one row of rows [r0, r1) sees (0 <= r0 < r1 <= seqlen), as
// [0, sink_end) ∪ [window_begin, end); sink_end may exceed window_begin (then it is [0, end)).
// Rows t < prompt_len are prompt rows. P: any struct with sliding, window, keep_first, fa_decode.
struct KeyUnion {
  int sink_end;
  int window_begin;
  int end;
};
template <class P>
SWAA_HOST_DEVICE KeyUnion train_key_union(const P& p, int r0, int r1, int prompt_len) {
  // Full causal rows: the last row r1 - 1 sees [0, r1), a superset of every other row's keys.
  // Answer rows are a suffix, so with fa_decode any answer row in the tile makes the last row one.
  if (!p.sliding || (p.fa_decode && r1 > prompt_len)) return KeyUnion{0, 0, r1};
  // Every row windowed: row t sees [0, min(S, wb(t))) ∪ [wb(t), t + 1), wb(t) = max(0, t - W + 1),
  // monotone in t, so the union takes wb of the first row and the sinks of the last.
  const int wb_first = r0 - p.window + 1 > 0 ? r0 - p.window + 1 : 0;
  const int wb_last = r1 - p.window > 0 ? r1 - p.window : 0;
  return KeyUnion{p.keep_first < wb_last ? p.keep_first : wb_last, wb_first, r1};
}

// The rows of a sequence of `seqlen` rows that see at least one key of [k0, k1)
// (0 <= k0 < k1 <= seqlen); `prompt_len` is clamped to [0, seqlen].
template <class P>
SWAA_HOST_DEVICE SpanPair train_row_spans(const P& p, int k0, int k1, int seqlen, int prompt_len) {
  const int prompt = prompt_len < 0 ? 0 : (prompt_len > seqlen ? seqlen : prompt_len);
  if (!p.sliding) return SpanPair{make_span(k0, seqlen), Span{}};
  // A windowed row t >= k0 sees the tile iff its window reaches the tile's last key
  // (t - W + 1 <= k1 - 1) or the tile starts with a sink: then key k0 is in t's window or, being
  // below t's window start and below S, one of t's sinks. Written to avoid overflow for huge W.
  const int windowed_hi = (p.keep_first > k0 || p.window >= seqlen - (k1 - 1)) ? seqlen : k1 - 1 + p.window;
  if (!p.fa_decode) return SpanPair{make_span(k0, windowed_hi), Span{}};
  // fa_decode: prompt rows [0, prompt) windowed, answer rows [prompt, seqlen) see every key <= t.
  const int prompt_hi = windowed_hi < prompt ? windowed_hi : prompt;
  return SpanPair{make_span(k0, prompt_hi), make_span(k0 > prompt ? k0 : prompt, seqlen)};
}

// The tiles of `tile` indices covering `spans`, each tile once (a tile both spans touch stays in
// the first): tile i covers indices [i * tile, (i + 1) * tile).
SWAA_HOST_DEVICE SpanPair tiles_of(const SpanPair& spans, int tile) {
  const Span a = spans.first.size() ? make_span(spans.first.lo / tile, (spans.first.hi + tile - 1) / tile) : Span{};
  Span b = spans.second.size() ? make_span(spans.second.lo / tile, (spans.second.hi + tile - 1) / tile) : Span{};
  if (a.size() && b.size() && b.lo < a.hi) b = make_span(a.hi, b.hi);
  return SpanPair{a, b};
}

// Does row t (local position; a prompt row iff t < prompt_len) see key j? SWAA.md §2 with §4's split.
template <class P>
SWAA_HOST_DEVICE bool train_visible(const P& p, int t, int j, int prompt_len) {
  return j <= t && (!p.sliding || (p.fa_decode && t >= prompt_len) || j > t - p.window || j < p.keep_first);
}

// Keys that every row of [m0, m0 + rows) sees: [0, end) is causal for all of them (the first row's
// end), and a key of a sliding layer is also inside every windowed row's window when >= window_begin,
// or among every windowed row's sinks when < sink_end. A key tile [k0, k0 + n) needs no per-element
// mask iff k0 + n <= end && (k0 >= window_begin || k0 + n <= sink_end).
struct AllVisible {
  int end;
  int window_begin;
  int sink_end;
};
template <class P>
SWAA_HOST_DEVICE AllVisible train_all_visible(const P& p, int m0, int rows, int prompt_len) {
  AllVisible a{m0 + 1, 0, 0x7fffffff};
  if (!p.sliding) return a;
  const int prompt = prompt_len > 0 ? prompt_len : 0;
  const int windowed_end = p.fa_decode ? (m0 + rows < prompt ? m0 + rows : prompt) : m0 + rows;
  const int last_windowed = windowed_end - 1;  // windowed rows are [m0, windowed_end)
  if (last_windowed >= m0) {
    const int wb_last = last_windowed - p.window + 1, wb_first = m0 - p.window + 1;
    a.window_begin = wb_last > 0 ? wb_last : 0;
    const int first_sinks = wb_first > 0 ? wb_first : 0;  // the first windowed row's sinks are the fewest
    a.sink_end = p.keep_first < first_sinks ? p.keep_first : first_sinks;
  }
  return a;
}


// The backward's split of the walks of key tiles that hold sinks. A sink key j < S is seen by every
// later row (SWAA.md §2), so the CTA of such a tile walks ~T / tile query tiles while a window tile
// walks ~(W + tile) / tile: with one CTA each, the sink CTAs are the grid's long pole. With
// `splits` > 1, each of the first `sink_tiles` key tiles is walked by `splits` CTAs (iteration
// ranges split_span), which add their dK/dV into fp32 accumulators. P: TrainAttentionParams (reads
// sliding, window, keep_first, max_seqlen, sink_splits: 1 = no split, 0 = automatic, n = n CTAs).
struct SinkSplit {
  int key_tiles;   // key tiles of the longest sequence: ceil(max_seqlen / tile)
  int sink_tiles;  // the first sink_tiles key tiles are split (0 when splits == 1)
  int splits;      // CTAs per split tile, in [1, 32]
};
template <class P>
SWAA_HOST_DEVICE SinkSplit train_sink_split(const P& p, int tile) {
  const int key_tiles = p.max_seqlen > 0 ? (p.max_seqlen + tile - 1) / tile : 0;
  SinkSplit s{key_tiles, 0, 1};
  if (!p.sliding || p.keep_first <= 0 || p.sink_splits == 1 || key_tiles <= 1) return s;
  int splits = p.sink_splits;
  if (splits <= 0) {  // automatic: about one window tile's walk per CTA
    const int w = p.window < p.max_seqlen ? p.window : p.max_seqlen;
    const int window_walk = (w + tile - 1) / tile + 1;
    splits = (key_tiles + window_walk - 1) / window_walk;
  }
  splits = splits > 32 ? 32 : splits;
  if (splits <= 1) return s;
  const int sink_tiles = (p.keep_first + tile - 1) / tile;
  return SinkSplit{key_tiles, sink_tiles < key_tiles ? sink_tiles : key_tiles, splits};
}

// Iterations [lo, hi) of split `split` (of `splits`) of a walk of n iterations: consecutive,
// disjoint, covering [0, n); empty for the trailing splits of a short walk.
SWAA_HOST_DEVICE Span split_span(int n, int splits, int split) {
  const int per = (n + splits - 1) / splits;
  const int lo = split * per;
  return make_span(lo, lo + per < n ? lo + per : n);
}

}  // namespace swaa::cuda
