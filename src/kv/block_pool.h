// BlockPool: fixed-capacity pool of KV block ids for one layer group. It hands out the lowest free
// id (a min-heap), so a sequence's blocks come out as ascending runs of consecutive ids whatever
// order blocks were released in: the Hopper prefill loads a run of consecutive blocks as one TMA
// box (kernels/cuda/attention_prefill_sm90_tma.cu; 8k causal: 582 TFLOP/s on consecutive blocks,
// 429 on permuted ones, bench/attention_notes.md). Pure bookkeeping: the bytes live in the backend.
// Predicate/action pairs: can_allocate(n) before allocate().
// Tests: tests/unit/kv/kv_cache_manager_test.cc (BlockPool).
#pragma once

#include <algorithm>
#include <functional>
#include <vector>

#include "core/check.h"

namespace swaa {

class BlockPool {
 public:
  explicit BlockPool(int num_blocks = 0) : num_blocks_(num_blocks), used_(static_cast<size_t>(num_blocks), false) {
    free_.reserve(num_blocks);
    for (int b = 0; b < num_blocks; ++b) free_.push_back(b);  // ascending: already a min-heap
  }

  int num_blocks() const { return num_blocks_; }
  int num_free() const { return static_cast<int>(free_.size()); }
  int num_used() const { return num_blocks_ - num_free(); }
  bool can_allocate(int n) const { return n <= num_free(); }

  // The lowest free id.
  int allocate() {
    SWAA_CHECK(!free_.empty());
    std::pop_heap(free_.begin(), free_.end(), std::greater<>());
    const int b = free_.back();
    free_.pop_back();
    used_[static_cast<size_t>(b)] = true;
    return b;
  }
  void release(int block) {
    SWAA_CHECK(block >= 0 && block < num_blocks_);
    SWAA_CHECK(used_[static_cast<size_t>(block)]);  // released twice: the heap would hand it out twice
    used_[static_cast<size_t>(block)] = false;
    free_.push_back(block);
    std::push_heap(free_.begin(), free_.end(), std::greater<>());
  }

 private:
  int num_blocks_;
  std::vector<int> free_;   // min-heap of free ids
  std::vector<bool> used_;  // catches a double release
};

}  // namespace swaa
