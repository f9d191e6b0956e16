// Scheduler without a model: admission against the token budget, the sequence limit and KV
// capacity; chunked prefill; FIFO fairness; preemption by recompute when the cache is full (the
// youngest first, nothing lost); reuse of released windowed blocks by other sequences.
#include "sched/scheduler.h"

#include <gtest/gtest.h>

#include <map>

namespace swaa {
namespace {

KvCacheSpec spec(int full_blocks, int win_blocks, int W = 8, int S = 0, int bs = 4) {
  KvCacheSpec s;
  s.block_size = bs;
  s.window = W;
  s.keep_first = S;
  s.groups[0] = {full_blocks > 0 ? 1 : 0, full_blocks, 8};
  s.groups[1] = {win_blocks > 0 ? 1 : 0, win_blocks, 8};
  return s;
}

std::unique_ptr<Sequence> seq(uint64_t id, int prompt_len) {
  auto s = std::make_unique<Sequence>();
  s->id = id;
  s->tokens.assign(prompt_len, 1);
  s->prompt_len = prompt_len;
  return s;
}

// Runs one step: commits the plan and appends a token to every sequence that sampled.
// `sampled[i]` tells whether chunk i yielded a token (samples() changes once the token is added).
struct Step {
  StepPlan plan;
  std::vector<bool> sampled;
};
Step step(Scheduler& sched) {
  Step s{sched.schedule(), {}};
  sched.commit(s.plan);
  for (const ScheduledChunk& c : s.plan.chunks) s.sampled.push_back(c.samples());
  for (const ScheduledChunk& c : s.plan.chunks) {
    if (c.samples()) c.seq->tokens.push_back(2);
  }
  return s;
}

TEST(Scheduler, ChunksPrefillWithinTheTokenBudget) {
  KvCacheManager kv(spec(100, 0));
  Scheduler sched(kv, {.max_num_seqs = 8, .max_num_batched_tokens = 10});
  sched.add(seq(1, 25));
  sched.add(seq(2, 3));
  Step p = step(sched);
  ASSERT_EQ(p.plan.chunks.size(), 1u);  // budget used up by the older request's first chunk
  EXPECT_EQ(p.plan.chunks[0].count, 10);
  EXPECT_FALSE(p.sampled[0]);
  p = step(sched);
  EXPECT_EQ(p.plan.chunks[0].begin, 10);
  EXPECT_EQ(p.plan.chunks[0].count, 10);
  p = step(sched);  // last 5 prompt tokens of #1, then #2's whole prompt (3) within the budget
  ASSERT_EQ(p.plan.chunks.size(), 2u);
  EXPECT_EQ(p.plan.chunks[0].count, 5);
  EXPECT_TRUE(p.sampled[0]);
  EXPECT_EQ(p.plan.chunks[1].seq->id, 2u);
  EXPECT_EQ(p.plan.num_tokens, 8);
  p = step(sched);  // both decode
  ASSERT_EQ(p.plan.chunks.size(), 2u);
  EXPECT_EQ(p.plan.chunks[0].count + p.plan.chunks[1].count, 2);
}

TEST(Scheduler, RespectsMaxNumSeqsFifo) {
  KvCacheManager kv(spec(100, 0));
  Scheduler sched(kv, {.max_num_seqs = 2, .max_num_batched_tokens = 100});
  for (uint64_t i = 1; i <= 4; ++i) sched.add(seq(i, 2));
  Step p = step(sched);
  ASSERT_EQ(p.plan.chunks.size(), 2u);
  EXPECT_EQ(p.plan.chunks[0].seq->id, 1u);
  EXPECT_EQ(p.plan.chunks[1].seq->id, 2u);
  sched.remove(1);
  p = step(sched);
  ASSERT_EQ(p.plan.chunks.size(), 2u);
  EXPECT_EQ(p.plan.chunks[1].seq->id, 3u);  // oldest waiting request admitted first
}

TEST(Scheduler, AdmissionWaitsForKvAndPreemptsYoungestWhenFull) {
  KvCacheManager kv(spec(6, 0));  // 24 tokens of KV
  Scheduler sched(kv, {.max_num_seqs = 8, .max_num_batched_tokens = 64});
  sched.add(seq(1, 8));
  sched.add(seq(2, 8));
  sched.add(seq(3, 8));
  Step p = step(sched);
  ASSERT_EQ(p.plan.chunks.size(), 3u);  // 3 x 2 blocks
  EXPECT_EQ(kv.num_free_blocks(KvGroup::kFull), 0);
  // Next decode step needs a new block for #1 -> the youngest (#3) is preempted, not lost.
  p = step(sched);
  ASSERT_EQ(p.plan.preempted, std::vector<uint64_t>{3});
  EXPECT_EQ(sched.find(3)->status, SeqStatus::kWaiting);
  EXPECT_EQ(sched.find(3)->num_computed, 0);
  EXPECT_EQ(sched.find(3)->num_tokens(), 9);  // its generated token is kept for recompute
  // #2 also needs a block now: with #3 gone it fits.
  ASSERT_EQ(p.plan.chunks.size(), 2u);
  sched.remove(1);
  sched.remove(2);
  p = step(sched);  // #3 readmitted: recomputes all 9 tokens and samples
  ASSERT_EQ(p.plan.chunks.size(), 1u);
  EXPECT_EQ(p.plan.chunks[0].count, 9);
  EXPECT_TRUE(p.sampled[0]);
  EXPECT_EQ(sched.find(3)->num_preemptions, 1);
}

TEST(Scheduler, PreemptsItselfWhenAlone) {
  KvCacheManager kv(spec(2, 0));  // 8 tokens
  Scheduler sched(kv, {.max_num_seqs = 8, .max_num_batched_tokens = 64});
  sched.add(seq(1, 8));
  step(sched);
  StepPlan p = sched.schedule();  // needs a 3rd block that does not exist
  EXPECT_EQ(p.preempted, std::vector<uint64_t>{1});
  EXPECT_TRUE(p.chunks.empty());
}

TEST(Scheduler, WindowedBlocksReleasedAndReusedByOthers) {
  // Only windowed layers, W = 4, bs = 4: a decoding sequence needs at most 3 blocks.
  KvCacheManager kv(spec(0, 6, /*W=*/4));
  Scheduler sched(kv, {.max_num_seqs = 8, .max_num_batched_tokens = 64});
  sched.add(seq(1, 12));  // prefill takes 3 blocks
  sched.add(seq(2, 12));  // 3 more: pool full
  step(sched);
  EXPECT_EQ(kv.num_free_blocks(KvGroup::kWindowed), 0);
  sched.add(seq(3, 4));
  for (int i = 0; i < 30; ++i) {
    Step p = step(sched);
    EXPECT_TRUE(p.plan.preempted.empty()) << "step " << i;  // released blocks make room; no preemption
  }
  // #3 was admitted once #1/#2 released blocks that left their windows.
  EXPECT_EQ(sched.find(3)->status, SeqStatus::kRunning);
  EXPECT_GT(sched.find(3)->num_tokens(), 4);
  EXPECT_LE(kv.num_used_blocks(KvGroup::kWindowed), 6);
}

}  // namespace
}  // namespace swaa
