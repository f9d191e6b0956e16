// BlockPool: fixed-capacity pool of KV block ids for one layer group, with a LIFO free list so
// a released block is the next one handed out (cache-warm reuse). Pure bookkeeping: the bytes
// live in the backend. Predicate/action pairs: can_allocate(n) before allocate().
// Tests: tests/unit/kv/block_pool_test.cc
#pragma once

#include <vector>

#include "core/check.h"

namespace swaa {

class BlockPool {
 public:
  explicit BlockPool(int num_blocks = 0) : num_blocks_(num_blocks) {
    free_.reserve(num_blocks);
    for (int b = num_blocks - 1; b >= 0; --b) free_.push_back(b);
  }

  int num_blocks() const { return num_blocks_; }
  int num_free() const { return static_cast<int>(free_.size()); }
  int num_used() const { return num_blocks_ - num_free(); }
  bool can_allocate(int n) const { return n <= num_free(); }

  int allocate() {
    SWAA_CHECK(!free_.empty());
    int b = free_.back();
    free_.pop_back();
    return b;
  }
  void release(int block) {
    SWAA_CHECK(block >= 0 && block < num_blocks_);
    free_.push_back(block);
  }

 private:
  int num_blocks_;
  std::vector<int> free_;
};

}  // namespace swaa
