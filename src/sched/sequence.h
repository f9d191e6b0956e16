// Sequence: the scheduler's view of one request: its tokens (prompt then generated), how many of
// them have KV in the cache, its KV block tables, and its state. The phase of token t is
// "generated" iff t >= prompt_len, also when a preempted sequence is recomputed (SWAA.md §2).
#pragma once

#include <cstdint>
#include <vector>

#include "kv/kv_cache_manager.h"

namespace swaa {

enum class SeqStatus { kWaiting, kRunning, kFinished };

struct Sequence {
  uint64_t id = 0;
  uint64_t arrival = 0;           // admission order; lower = older = scheduled first
  std::vector<int32_t> tokens;    // prompt + generated
  int prompt_len = 0;
  int num_computed = 0;           // tokens [0, num_computed) have KV in the cache
  SeqStatus status = SeqStatus::kWaiting;
  SequenceKv kv;
  int num_preemptions = 0;

  int num_tokens() const { return static_cast<int>(tokens.size()); }
  int num_pending() const { return num_tokens() - num_computed; }
};

}  // namespace swaa
