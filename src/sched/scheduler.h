// Scheduler: continuous batching over a paged KV cache (pure CPU, no backend). Each step it emits
// a StepPlan: running sequences first (oldest first; one token each when decoding, else a prefill
// or recompute chunk), then waiting sequences FIFO while the token budget, the sequence limit and
// the KV pools allow. Windowed-group blocks out of every future query's window are released before
// a sequence allocates (SWAA.md §3), so other sequences reuse them in the same step. When the cache
// is full the youngest running sequence is preempted (KV freed, recomputed later; never lost).
// Tests: tests/unit/sched/scheduler_test.cc
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "kv/kv_cache_manager.h"
#include "sched/sequence.h"

namespace swaa {

struct SchedulerOptions {
  int max_num_seqs = 64;              // running sequences at most
  int max_num_batched_tokens = 2048;  // tokens per step (decode tokens + prefill chunks)
};

struct ScheduledChunk {
  Sequence* seq = nullptr;
  int begin = 0;  // first token position of the chunk
  int count = 0;  // tokens in the chunk
  // The chunk ends at the sequence's last known token: the step yields its next token.
  bool samples() const { return begin + count == seq->num_tokens(); }
};

// The scheduler -> runner contract for one step.
struct StepPlan {
  std::vector<ScheduledChunk> chunks;
  std::vector<uint64_t> preempted;  // sequences whose KV was freed this step
  int num_tokens = 0;
  bool empty() const { return chunks.empty(); }
};

class Scheduler {
 public:
  Scheduler(KvCacheManager& kv, const SchedulerOptions& options);

  // Takes ownership; the sequence waits until admitted.
  Sequence* add(std::unique_ptr<Sequence> seq);
  StepPlan schedule();
  // After the runner executed `plan`: marks chunk tokens as computed.
  void commit(const StepPlan& plan);
  // Frees the sequence's KV and forgets it (finished or aborted). Unknown ids are ignored.
  void remove(uint64_t id);

  Sequence* find(uint64_t id);
  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  int num_running() const { return static_cast<int>(running_.size()); }
  int num_waiting() const { return static_cast<int>(waiting_.size()); }

 private:
  void preempt(Sequence* seq, StepPlan& plan);
  // Largest count <= want whose blocks fit in the pools now; 0 when even one token does not.
  int fitting_count(const Sequence& seq, int want) const;

  KvCacheManager& kv_;
  SchedulerOptions options_;
  uint64_t next_arrival_ = 0;
  std::map<uint64_t, std::unique_ptr<Sequence>> seqs_;
  std::vector<Sequence*> running_;  // sorted by arrival
  std::deque<Sequence*> waiting_;   // sorted by arrival
};

}  // namespace swaa
