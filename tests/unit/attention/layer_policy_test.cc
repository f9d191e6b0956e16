// The mask rule against SWAA.md §2 (its worked example verbatim) and against the independent
// fp64 reference predicate over a sweep of W, S, FA decode and non-sliding layers.
#include "attention/layer_policy.h"

#include <gtest/gtest.h>

#include "reference/reference_model.h"

namespace swaa {
namespace {

TEST(LayerPolicy, SwaaMdWorkedExample) {
  // W = 3, S = 2, prompt of 8 tokens then 2 generated tokens, sliding layer.
  const char* expected_off[] = {"x", "xx", "xxx", "xxxx", "xxxxx", "xx.xxx", "xx..xxx", "xx...xxx", "xx....xxx"};
  LayerPolicy p{.sliding = true, .window = 3, .keep_first = 2, .fa_decode = false};
  for (int q = 0; q <= 8; ++q) {
    std::string row;
    for (int j = 0; j <= q; ++j) row += key_visible(p, q, j, q >= 8) ? 'x' : '.';
    EXPECT_EQ(row, expected_off[q]) << "p=" << q;
  }
  p.fa_decode = true;
  for (int q = 8; q <= 9; ++q) {
    for (int j = 0; j <= q; ++j) EXPECT_TRUE(key_visible(p, q, j, true)) << q << "," << j;
  }
  // Phase comes from the token's origin: a prompt token at p=8 still uses the window.
  EXPECT_FALSE(key_visible(p, 8, 2, /*generated=*/false));
}

TEST(LayerPolicy, ResolvesPerLayer) {
  SwaaConfig c;
  c.sliding_window_size = 16;
  c.keep_first = 4;
  c.force_fa_decode_layers = {0, 2};
  c.non_sliding_layers = {1, 9};  // 9 is beyond the model: ignored with a warning
  auto r = resolve_layer_policies(c, 4);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& p = *r;
  EXPECT_TRUE(p[0].sliding && p[0].fa_decode && !p[0].windowed_kv());
  EXPECT_FALSE(p[1].sliding);
  EXPECT_TRUE(p[2].sliding && p[2].fa_decode);
  EXPECT_TRUE(p[3].sliding && !p[3].fa_decode && p[3].windowed_kv());
  EXPECT_EQ(p[3].window, 16);
  EXPECT_EQ(p[3].keep_first, 4);
}

TEST(LayerPolicy, InvalidValues) {
  SwaaConfig c;
  c.sliding_window_size = 0;
  EXPECT_NE(resolve_layer_policies(c, 2).status().message().find("sliding_window_size must be >= 1"), std::string::npos);
  c.sliding_window_size = 4;
  c.keep_first = -1;
  EXPECT_NE(resolve_layer_policies(c, 2).status().message().find("keep_first must be >= 0, got -1"), std::string::npos);
  c.keep_first = 0;
  c.non_sliding_layers = {-2};
  EXPECT_NE(resolve_layer_policies(c, 2).status().message().find("negative layer index -2"), std::string::npos);
}

TEST(LayerPolicy, MatchesReferenceAndRangesOverSweep) {
  const int P = 20, T = 40, layers = 3;
  for (int W : {1, 2, 3, 7, 16, 64}) {
    for (int S : {0, 1, 5, 12, 50}) {
      for (int fa = 0; fa < 3; ++fa) {
        SwaaConfig c;
        c.sliding_window_size = W;
        c.keep_first = S;
        c.force_fa_decode_all = fa == 1;
        if (fa == 2) c.force_fa_decode_layers = {1};
        c.non_sliding_layers = {2};
        auto policies = resolve_layer_policies(c, layers).value();
        for (int l = 0; l < layers; ++l) {
          for (int q = 0; q < T; ++q) {
            const bool gen = q >= P;
            const KeyRanges r = visible_ranges(policies[l], q, gen);
            ASSERT_LE(r.sink_end, r.window_begin);
            int count = 0;
            for (int j = 0; j < T; ++j) {
              const bool want = reference::visible(c, l, q, j, P);
              ASSERT_EQ(key_visible(policies[l], q, j, gen), want) << "W=" << W << " S=" << S << " l=" << l << " p=" << q << " j=" << j;
              const bool in_ranges = j < r.sink_end || (j >= r.window_begin && j < r.window_end);
              ASSERT_EQ(in_ranges, want) << "W=" << W << " S=" << S << " l=" << l << " p=" << q << " j=" << j;
              count += want;
            }
            ASSERT_EQ(r.num_keys(), count);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace swaa
