// The training kernels' tile walks (kernels/cuda/attention_train_tiles.h, CUDA-free) against brute
// force over reference::visible: the key union of a query tile and the rows (then query tiles) that
// see a key tile must be exactly the sets the mask gives, every tile once; the element rule must be
// the reference's, and the tiles the kernels leave unmasked must be seen by every row. Exhaustive over small
// shapes and tile sizes, so the 64-wide tiles of the kernels are covered by the same formulas.
// Label cpu (runs in CI without a GPU).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "attention_train_tiles.h"
#include "swaa_attention_train.h"
#include "reference/reference_model.h"

namespace swaa {
namespace {

struct Policy {  // the fields the tile functions read, as in TrainAttentionParams
  bool sliding = false;
  int window = 0;
  int keep_first = 0;
  bool fa_decode = false;

  SwaaConfig config() const {
    SwaaConfig c;
    if (sliding) c.sliding_window_size = window;
    c.keep_first = keep_first;
    c.force_fa_decode_all = fa_decode;
    return c;
  }
  std::string describe() const {
    return "sliding=" + std::to_string(sliding) + " W=" + std::to_string(window) + " S=" +
           std::to_string(keep_first) + " fa_decode=" + std::to_string(fa_decode);
  }
};

std::vector<Policy> policies() {
  std::vector<Policy> out = {{false, 0, 0, false}, {false, 0, 0, true}};
  for (int W : {1, 2, 3, 5, 8, 13, 40, 1 << 30}) {
    for (int S : {0, 1, 2, 4, 9, 30}) {
      for (bool fa : {false, true}) out.push_back({true, W, S, fa});
    }
  }
  return out;
}

std::set<int> spans_set(const cuda::SpanPair& sp) {
  std::set<int> s;
  for (int i = 0; i < sp.size(); ++i) s.insert(sp.at(i));
  return s;
}

void expect_disjoint_ascending(const cuda::SpanPair& sp, const std::string& what) {
  if (sp.first.size() && sp.second.size()) {
    EXPECT_LE(sp.first.hi, sp.second.lo) << what;
  }
  for (int i = 1; i < sp.size(); ++i) EXPECT_LT(sp.at(i - 1), sp.at(i)) << what;
}

// Calls fn(pol, cfg, len, prompt, lo, hi) for every policy, sequence length 1..24, prompt length
// -1..len+1 and tile [lo, hi) of sizes 1, 3, 4, 8 and 64 (query tiles or key tiles alike); stops at
// the first fatal failure.
template <class Fn>
void for_each_tile(Fn fn) {
  for (const Policy& pol : policies()) {
    const SwaaConfig cfg = pol.config();
    for (int len = 1; len <= 24; ++len) {
      for (int prompt = -1; prompt <= len + 1; ++prompt) {
        for (int tile : {1, 3, 4, 8, 64}) {
          for (int lo = 0; lo < len; lo += tile) {
            fn(pol, cfg, len, prompt, lo, std::min(len, lo + tile));
            if (::testing::Test::HasFatalFailure()) return;
          }
        }
      }
    }
  }
}

TEST(AttentionTrainTiles, KeyUnionOfQueryTilesIsExact) {
  for_each_tile([](const Policy& pol, const SwaaConfig& cfg, int len, int prompt, int r0, int r1) {
    std::set<int> want;
    for (int t = r0; t < r1; ++t) {
      for (int j = 0; j < len; ++j) {
        if (reference::visible(cfg, 0, t, j, prompt)) want.insert(j);
      }
    }
    const cuda::KeyUnion u = cuda::train_key_union(pol, r0, r1, prompt);
    std::set<int> got;
    for (int j = 0; j < len; ++j) {
      if (j < u.end && (j < u.sink_end || j >= u.window_begin)) got.insert(j);
    }
    ASSERT_EQ(got, want) << pol.describe() << " len=" << len << " prompt=" << prompt << " rows [" << r0 << ", "
                         << r1 << ")";
  });
}

TEST(AttentionTrainTiles, QueryTilesOfKeyTilesAreExact) {
  for_each_tile([](const Policy& pol, const SwaaConfig& cfg, int len, int prompt, int k0, int k1) {
    std::set<int> want_rows;
    for (int t = 0; t < len; ++t) {
      for (int j = k0; j < k1; ++j) {
        if (reference::visible(cfg, 0, t, j, prompt)) want_rows.insert(t);
      }
    }
    const std::string what = pol.describe() + " len=" + std::to_string(len) + " prompt=" + std::to_string(prompt) +
                             " keys [" + std::to_string(k0) + ", " + std::to_string(k1) + ")";
    const cuda::SpanPair rows = cuda::train_row_spans(pol, k0, k1, len, prompt);
    ASSERT_EQ(spans_set(rows), want_rows) << what;
    expect_disjoint_ascending(rows, what);
    // Query tiles of another size over the same rows: each tile that holds a visible row, once.
    for (int q_tile : {1, 2, 5, 64}) {
      std::set<int> want_tiles;
      for (int t : want_rows) want_tiles.insert(t / q_tile);
      const cuda::SpanPair tiles = cuda::tiles_of(rows, q_tile);
      ASSERT_EQ(spans_set(tiles), want_tiles) << what << " q_tile=" << q_tile;
      ASSERT_EQ(tiles.size(), static_cast<int>(want_tiles.size())) << what << " q_tile=" << q_tile;
      expect_disjoint_ascending(tiles, what);
    }
  });
}

TEST(AttentionTrainTiles, ElementRuleIsTheReference) {
  for (const Policy& pol : policies()) {
    const SwaaConfig cfg = pol.config();
    for (int len = 1; len <= 20; ++len) {
      for (int prompt = -1; prompt <= len + 1; ++prompt) {
        for (int t = 0; t < len; ++t) {
          for (int j = 0; j < len; ++j) {
            ASSERT_EQ(cuda::train_visible(pol, t, j, prompt), reference::visible(cfg, 0, t, j, prompt))
                << pol.describe() << " len=" << len << " prompt=" << prompt << " t=" << t << " j=" << j;
          }
        }
      }
    }
  }
}

// The kernels skip the per-element mask in a key tile [k0, k0 + n) when
// k0 + n <= end && (k0 >= window_begin || k0 + n <= sink_end): then every row of the query tile must
// see every key of it. Also exact for the causal bound: the first row sees [0, end).
TEST(AttentionTrainTiles, AllVisibleKeysAreSeenByEveryRow) {
  for_each_tile([](const Policy& pol, const SwaaConfig& cfg, int len, int prompt, int r0, int r1) {
    const cuda::AllVisible a = cuda::train_all_visible(pol, r0, r1 - r0, prompt);
    const std::string what = pol.describe() + " len=" + std::to_string(len) + " prompt=" + std::to_string(prompt) +
                             " rows [" + std::to_string(r0) + ", " + std::to_string(r1) + ")";
    ASSERT_EQ(a.end, r0 + 1) << what;
    for (int k0 = 0; k0 < len; ++k0) {
      for (int n = 1; k0 + n <= len; ++n) {
        if (!(k0 + n <= a.end && (k0 >= a.window_begin || k0 + n <= a.sink_end))) continue;
        for (int t = r0; t < r1; ++t) {
          for (int j = k0; j < k0 + n; ++j) {
            ASSERT_TRUE(reference::visible(cfg, 0, t, j, prompt))
                << what << " key tile [" << k0 << ", " << k0 + n << ") row " << t << " key " << j;
          }
        }
      }
    }
  });
}

TEST(AttentionTrainTiles, SplitSpansCoverEachIterationOnce) {
  for (int n = 0; n <= 40; ++n) {
    for (int splits = 1; splits <= 33; ++splits) {
      std::vector<int> seen(n, 0);
      int prev_hi = 0;
      for (int part = 0; part < splits; ++part) {
        const cuda::Span s = cuda::split_span(n, splits, part);
        if (s.size() == 0) continue;
        ASSERT_EQ(s.lo, prev_hi) << "n=" << n << " splits=" << splits << " part=" << part;
        prev_hi = s.hi;
        for (int i = s.lo; i < s.hi; ++i) ++seen[i];
      }
      for (int i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "n=" << n << " splits=" << splits << " i=" << i;
    }
  }
}

TEST(AttentionTrainTiles, SinkSplitOnlyForSlidingLayersWithSinks) {
  cuda::TrainAttentionParams p;
  p.max_seqlen = 32768;
  p.sliding = true;
  p.window = 2048;
  p.keep_first = 100;
  p.sink_splits = 1;  // default: no split
  EXPECT_EQ(cuda::train_sink_split(p, 64).splits, 1);
  EXPECT_EQ(cuda::train_sink_split(p, 64).sink_tiles, 0);
  p.sink_splits = 0;  // automatic: 512 key tiles, a window walk of 33 tiles -> 16 CTAs per sink tile
  cuda::SinkSplit s = cuda::train_sink_split(p, 64);
  EXPECT_EQ(s.key_tiles, 512);
  EXPECT_EQ(s.sink_tiles, 2);
  EXPECT_EQ(s.splits, 16);
  p.sink_splits = 7;
  EXPECT_EQ(cuda::train_sink_split(p, 64).splits, 7);
  p.keep_first = 0;  // no sinks: nothing to split
  EXPECT_EQ(cuda::train_sink_split(p, 64).splits, 1);
  p.keep_first = 100;
  p.sliding = false;  // full causal: every tile's walk is long, no sinks
  EXPECT_EQ(cuda::train_sink_split(p, 64).splits, 1);
  p.sliding = true;
  p.sink_splits = 0;
  p.window = 1 << 30;  // the window covers everything: no sink tile is special
  EXPECT_EQ(cuda::train_sink_split(p, 64).splits, 1);
  p.window = 1;
  p.keep_first = 1 << 20;  // more sinks than keys: every key tile is a sink tile, at most 32 CTAs each
  s = cuda::train_sink_split(p, 64);
  EXPECT_EQ(s.sink_tiles, 512);
  EXPECT_EQ(s.splits, 32);
}

}  // namespace
}  // namespace swaa
