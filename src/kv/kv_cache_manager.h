// KvCacheManager: paged KV bookkeeping for the two layer groups (attention/attention_layout.h).
// The "windowed" group releases blocks whose every position p satisfies p >= S and
// p < first_live_query - W + 1 (SWAA.md §3); sink blocks are never released. The caller must
// release before appending the next chunk so that freed blocks are reused at once.
// Tests: tests/unit/kv/kv_cache_manager_test.cc
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "attention/attention_layout.h"
#include "kv/block_pool.h"
#include "swaa/status.h"

namespace swaa {

struct KvGroupSpec {
  int num_layers = 0;        // layers whose KV lives in this group (0 = group unused)
  int num_blocks = 0;        // pool capacity
  int64_t bytes_per_token = 0;  // K+V bytes of one token in ONE layer
};

struct KvCacheSpec {
  int block_size = 16;
  int window = 0;      // W of the windowed group
  int keep_first = 0;  // S of the windowed group
  std::array<KvGroupSpec, kNumKvGroups> groups;
};

// KV state of one sequence: a block table per group and the number of tokens with KV.
struct SequenceKv {
  std::array<std::vector<int>, kNumKvGroups> block_tables;
  int num_tokens = 0;
};

class KvCacheManager {
 public:
  explicit KvCacheManager(const KvCacheSpec& spec);

  const KvCacheSpec& spec() const { return spec_; }

  // Blocks per group that appending `num_new` tokens to `seq` would take from the pools.
  std::array<int, kNumKvGroups> blocks_needed(const SequenceKv& seq, int num_new) const;
  bool can_append(const SequenceKv& seq, int num_new) const;
  // Allocates blocks for positions [num_tokens, num_tokens + num_new); ResourceExhausted when a
  // pool is short (nothing is allocated then).
  Status append(SequenceKv& seq, int num_new);
  // Releases windowed-group blocks no query at position >= first_query_pos can see. Returns the
  // number of blocks released.
  int release_out_of_window(SequenceKv& seq, int first_query_pos);
  // Returns every block of `seq` to the pools and resets it.
  void free(SequenceKv& seq);

  // Cache slot of position `pos` of `seq` in group `g`; the block must be live.
  int slot(const SequenceKv& seq, KvGroup g, int pos) const;

  int num_used_blocks(KvGroup g) const { return pools_[static_cast<int>(g)].num_used(); }
  int num_free_blocks(KvGroup g) const { return pools_[static_cast<int>(g)].num_free(); }
  // Bytes of KV currently held by live blocks (all layers of the group).
  int64_t live_bytes(KvGroup g) const;
  int64_t live_bytes() const;
  int64_t block_bytes(KvGroup g) const;

 private:
  bool group_used(int g) const { return spec_.groups[g].num_layers > 0; }

  KvCacheSpec spec_;
  std::array<BlockPool, kNumKvGroups> pools_;
};

}  // namespace swaa
