// KV bookkeeping without a model: allocation per group, the out-of-window release rule (never a
// block some live query can see, never a sink block), block reuse, capacity errors, accounting.
#include "kv/kv_cache_manager.h"

#include <gtest/gtest.h>

#include "attention/layer_policy.h"
#include "kv/block_pool.h"

namespace swaa {
namespace {

KvCacheSpec make_spec(int bs, int W, int S, int full_blocks, int win_blocks) {
  KvCacheSpec s;
  s.block_size = bs;
  s.window = W;
  s.keep_first = S;
  s.groups[0] = {2, full_blocks, 64};
  s.groups[1] = {3, win_blocks, 64};
  return s;
}

TEST(KvCacheManager, AppendAllocatesPerGroup) {
  KvCacheManager kv(make_spec(4, 8, 0, 10, 10));
  SequenceKv seq;
  ASSERT_TRUE(kv.append(seq, 5).ok());
  EXPECT_EQ(seq.block_tables[0].size(), 2u);
  EXPECT_EQ(seq.block_tables[1].size(), 2u);
  ASSERT_TRUE(kv.append(seq, 3).ok());  // fills block 1, no new block
  EXPECT_EQ(kv.num_used_blocks(KvGroup::kFull), 2);
  EXPECT_EQ(kv.live_bytes(KvGroup::kFull), 2 * 4 * 2 * 64);
  EXPECT_EQ(kv.live_bytes(), 2 * 4 * 2 * 64 + 2 * 4 * 3 * 64);
  EXPECT_EQ(kv.slot(seq, KvGroup::kFull, 6), seq.block_tables[0][1] * 4 + 2);
  kv.free(seq);
  EXPECT_EQ(kv.live_bytes(), 0);
  EXPECT_EQ(seq.num_tokens, 0);
}

TEST(KvCacheManager, CapacityIsAnErrorNotACrash) {
  KvCacheManager kv(make_spec(4, 8, 0, 2, 10));
  SequenceKv seq;
  EXPECT_FALSE(kv.can_append(seq, 9));
  Status st = kv.append(seq, 9);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("group full needs 3 more blocks"), std::string::npos) << st.message();
  EXPECT_EQ(kv.live_bytes(), 0);  // nothing half-allocated
}

// Every key any query at position >= q0 can see (under a windowed-KV policy) is in a live block,
// and every released block holds only keys no such query can see.
TEST(KvCacheManager, ReleaseRuleMatchesTheMask) {
  for (int bs : {1, 4, 16}) {
    for (int W : {1, 3, 8, 33}) {
      for (int S : {0, 1, 5, 16, 40}) {
        KvCacheManager kv(make_spec(bs, W, S, 1000, 1000));
        LayerPolicy policy{.sliding = true, .window = W, .keep_first = S, .fa_decode = false};
        SequenceKv seq;
        for (int q0 = 0; q0 < 120; ++q0) {
          kv.release_out_of_window(seq, q0);
          ASSERT_TRUE(kv.append(seq, 1).ok());
          for (int j = 0; j <= q0; ++j) {
            bool needed = false;
            for (int p = q0; p < q0 + W + S + 2; ++p) needed |= key_visible(policy, p, j, true);
            const bool live = seq.block_tables[1][j / bs] != kReleasedBlock;
            if (needed) ASSERT_TRUE(live) << "bs=" << bs << " W=" << W << " S=" << S << " q0=" << q0 << " j=" << j;
            if (!live) ASSERT_FALSE(needed);
          }
          // Bound: sink blocks + the blocks spanned by the window + one partial block.
          const int bound = (S + bs - 1) / bs + (W - 1) / bs + 2;
          ASSERT_LE(kv.num_used_blocks(KvGroup::kWindowed), bound);
          // The full group never releases.
          ASSERT_EQ(kv.num_used_blocks(KvGroup::kFull), (q0 + 1 + bs - 1) / bs);
        }
      }
    }
  }
}

TEST(KvCacheManager, ReleasedBlocksAreReused) {
  KvCacheManager kv(make_spec(4, 4, 0, 100, 3));
  SequenceKv a, b;
  // With W=4 and one token per step, sequence a never needs more than 3 windowed blocks.
  for (int p = 0; p < 40; ++p) {
    kv.release_out_of_window(a, p);
    ASSERT_TRUE(kv.append(a, 1).ok()) << p;
  }
  EXPECT_LE(kv.num_used_blocks(KvGroup::kWindowed), 3);
  kv.free(a);
  ASSERT_TRUE(kv.append(b, 12).ok());  // all three blocks free again for another sequence
  EXPECT_EQ(kv.num_free_blocks(KvGroup::kWindowed), 0);
}

// Lowest free id first, whatever the release order: a sequence allocated after others were freed
// gets ascending consecutive ids (the TMA prefill's one-box-per-tile path).
TEST(BlockPool, HandsOutTheLowestFreeId) {
  BlockPool pool(8);
  for (int b = 0; b < 8; ++b) EXPECT_EQ(pool.allocate(), b);
  EXPECT_FALSE(pool.can_allocate(1));
  for (int b : {2, 7, 3, 1, 4}) pool.release(b);
  EXPECT_EQ(pool.num_free(), 5);
  for (int b : {1, 2, 3, 4, 7}) EXPECT_EQ(pool.allocate(), b);
  EXPECT_EQ(pool.num_free(), 0);
}

TEST(BlockPool, DoubleReleaseIsCaught) {
  BlockPool pool(2);
  const int b = pool.allocate();
  pool.release(b);
  EXPECT_DEATH(pool.release(b), "");
}

TEST(KvCacheManager, FreedSequenceBlocksComeBackAscending) {
  KvCacheManager kv(make_spec(4, 4, 0, 100, 100));
  SequenceKv a, b;
  ASSERT_TRUE(kv.append(a, 40).ok());
  kv.free(a);
  ASSERT_TRUE(kv.append(b, 40).ok());
  for (int g = 0; g < 2; ++g) {
    for (size_t i = 0; i < b.block_tables[g].size(); ++i) EXPECT_EQ(b.block_tables[g][i], static_cast<int>(i)) << g;
  }
}

}  // namespace
}  // namespace swaa
