// Block allocation, out-of-window release and accounting for the full and windowed KV groups.
#include "kv/kv_cache_manager.h"

#include <algorithm>
#include <string>

namespace swaa {

KvCacheManager::KvCacheManager(const KvCacheSpec& spec) : spec_(spec) {
  SWAA_CHECK(spec.block_size > 0);
  for (int g = 0; g < kNumKvGroups; ++g) pools_[g] = BlockPool(group_used(g) ? spec.groups[g].num_blocks : 0);
}

std::array<int, kNumKvGroups> KvCacheManager::blocks_needed(const SequenceKv& seq, int num_new) const {
  std::array<int, kNumKvGroups> need{};
  const int bs = spec_.block_size;
  const int total_blocks = (seq.num_tokens + num_new + bs - 1) / bs;
  for (int g = 0; g < kNumKvGroups; ++g) {
    if (!group_used(g)) continue;
    need[g] = std::max(0, total_blocks - static_cast<int>(seq.block_tables[g].size()));
  }
  return need;
}

bool KvCacheManager::can_append(const SequenceKv& seq, int num_new) const {
  auto need = blocks_needed(seq, num_new);
  for (int g = 0; g < kNumKvGroups; ++g) {
    if (!pools_[g].can_allocate(need[g])) return false;
  }
  return true;
}

Status KvCacheManager::append(SequenceKv& seq, int num_new) {
  auto need = blocks_needed(seq, num_new);
  for (int g = 0; g < kNumKvGroups; ++g) {
    if (!pools_[g].can_allocate(need[g])) {
      return resource_exhausted("KV cache full: group " + std::string(g == 0 ? "full" : "windowed") + " needs " +
                                std::to_string(need[g]) + " more blocks of " + std::to_string(spec_.block_size) +
                                " tokens but only " + std::to_string(pools_[g].num_free()) + " of " +
                                std::to_string(pools_[g].num_blocks()) + " are free");
    }
  }
  for (int g = 0; g < kNumKvGroups; ++g) {
    for (int i = 0; i < need[g]; ++i) seq.block_tables[g].push_back(pools_[g].allocate());
  }
  seq.num_tokens += num_new;
  return Status();
}

int KvCacheManager::release_out_of_window(SequenceKv& seq, int first_query_pos) {
  constexpr int g = static_cast<int>(KvGroup::kWindowed);
  if (!group_used(g)) return 0;
  const int bs = spec_.block_size;
  // Keys j < first_query_pos - W + 1 are outside every live query's window; sinks j < S stay.
  const int first_live_key = first_query_pos - spec_.window + 1;
  const int first_non_sink_block = (spec_.keep_first + bs - 1) / bs;
  const int end_block = std::min<int>(first_live_key / bs, static_cast<int>(seq.block_tables[g].size()));
  int released = 0;
  for (int b = first_non_sink_block; b < end_block; ++b) {
    int& id = seq.block_tables[g][b];
    if (id == kReleasedBlock) continue;
    pools_[g].release(id);
    id = kReleasedBlock;
    ++released;
  }
  return released;
}

void KvCacheManager::free(SequenceKv& seq) {
  for (int g = 0; g < kNumKvGroups; ++g) {
    for (int id : seq.block_tables[g]) {
      if (id != kReleasedBlock) pools_[g].release(id);
    }
    seq.block_tables[g].clear();
  }
  seq.num_tokens = 0;
}

int KvCacheManager::slot(const SequenceKv& seq, KvGroup g, int pos) const {
  const int gi = static_cast<int>(g);
  const int bs = spec_.block_size;
  SWAA_CHECK(pos >= 0 && pos / bs < static_cast<int>(seq.block_tables[gi].size()));
  const int id = seq.block_tables[gi][pos / bs];
  SWAA_CHECK(id != kReleasedBlock);
  return id * bs + pos % bs;
}

int64_t KvCacheManager::block_bytes(KvGroup g) const {
  const KvGroupSpec& s = spec_.groups[static_cast<int>(g)];
  return static_cast<int64_t>(spec_.block_size) * s.num_layers * s.bytes_per_token;
}

int64_t KvCacheManager::live_bytes(KvGroup g) const { return num_used_blocks(g) * block_bytes(g); }

int64_t KvCacheManager::live_bytes() const { return live_bytes(KvGroup::kFull) + live_bytes(KvGroup::kWindowed); }

}  // namespace swaa
