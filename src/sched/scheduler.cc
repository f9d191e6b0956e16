// Step planning: running first (oldest first), then FIFO admission; preemption by recompute.
#include "sched/scheduler.h"

#include <algorithm>

#include "core/check.h"

namespace swaa {

Scheduler::Scheduler(KvCacheManager& kv, const SchedulerOptions& options) : kv_(kv), options_(options) {
  SWAA_CHECK(options.max_num_seqs >= 1 && options.max_num_batched_tokens >= 1);
}

Sequence* Scheduler::add(std::unique_ptr<Sequence> seq) {
  seq->arrival = next_arrival_++;
  seq->status = SeqStatus::kWaiting;
  Sequence* raw = seq.get();
  seqs_[seq->id] = std::move(seq);
  waiting_.push_back(raw);
  return raw;
}

Sequence* Scheduler::find(uint64_t id) {
  auto it = seqs_.find(id);
  return it == seqs_.end() ? nullptr : it->second.get();
}

int Scheduler::fitting_count(const Sequence& seq, int want) const {
  int lo = 0, hi = want;  // largest count in [0, want] that fits: can_append is monotone in count
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (kv_.can_append(seq.kv, mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

void Scheduler::preempt(Sequence* seq, StepPlan& plan) {
  kv_.free(seq->kv);
  seq->num_computed = 0;
  seq->status = SeqStatus::kWaiting;
  ++seq->num_preemptions;
  running_.erase(std::find(running_.begin(), running_.end(), seq));
  // Back to the waiting queue at its arrival rank, so it is readmitted before younger requests.
  auto pos = std::find_if(waiting_.begin(), waiting_.end(), [&](Sequence* w) { return w->arrival > seq->arrival; });
  waiting_.insert(pos, seq);
  plan.preempted.push_back(seq->id);
}

StepPlan Scheduler::schedule() {
  StepPlan plan;
  int budget = options_.max_num_batched_tokens;
  // 1. Running sequences, oldest first.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* seq = running_[i];
    const int want = std::min(seq->num_pending(), budget);
    kv_.release_out_of_window(seq->kv, seq->num_computed);
    // A prefill chunk may shrink to what fits; when not even one token fits, preempt the youngest
    // running sequence (possibly this one) until it does.
    int count = fitting_count(*seq, want);
    while (count == 0) {
      Sequence* victim = running_.back();
      preempt(victim, plan);
      if (victim == seq) break;
      count = fitting_count(*seq, want);
    }
    if (seq->status != SeqStatus::kRunning) continue;  // preempted itself; running_[i] is the next one
    SWAA_CHECK(kv_.append(seq->kv, count).ok());
    plan.chunks.push_back({seq, seq->num_computed, count});
    budget -= count;
    ++i;
  }
  // 2. Waiting sequences, FIFO; none are admitted in a step that had to preempt.
  while (plan.preempted.empty() && !waiting_.empty() && budget > 0 &&
         static_cast<int>(running_.size()) < options_.max_num_seqs) {
    Sequence* seq = waiting_.front();
    kv_.release_out_of_window(seq->kv, seq->num_computed);
    const int count = fitting_count(*seq, std::min(seq->num_pending(), budget));
    if (count == 0) break;
    SWAA_CHECK(kv_.append(seq->kv, count).ok());
    waiting_.pop_front();
    seq->status = SeqStatus::kRunning;
    running_.insert(std::upper_bound(running_.begin(), running_.end(), seq,
                                     [](Sequence* a, Sequence* b) { return a->arrival < b->arrival; }),
                    seq);
    plan.chunks.push_back({seq, seq->num_computed, count});
    budget -= count;
  }
  for (const ScheduledChunk& c : plan.chunks) plan.num_tokens += c.count;
  return plan;
}

void Scheduler::commit(const StepPlan& plan) {
  for (const ScheduledChunk& c : plan.chunks) c.seq->num_computed = c.begin + c.count;
}

void Scheduler::remove(uint64_t id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  Sequence* seq = it->second.get();
  kv_.free(seq->kv);
  running_.erase(std::remove(running_.begin(), running_.end(), seq), running_.end());
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), seq), waiting_.end());
  seqs_.erase(it);
}

}  // namespace swaa
