// RequestState: everything the engine keeps per request besides the scheduler's Sequence:
// sampling state, output ids, incremental detokenization and stop handling. A stop string is
// never split across outputs: text that could still grow into a stop string is held back until
// it cannot, and a matched stop string is cut from the output. Ids (and their logprobs, one per id)
// are never held back: every output carries exactly the ids appended since the previous one.
// Tests: tests/unit/engine/request_state_test.cc
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sampling/sampler.h"
#include "swaa/engine.h"
#include "swaa/tokenizer.h"

namespace swaa {

class RequestState {
 public:
  using Clock = std::chrono::steady_clock;

  RequestState(uint64_t id, std::vector<int32_t> prompt, const SamplingParams& params, const Tokenizer* tokenizer,
               std::vector<int32_t> eos_ids);

  uint64_t id() const { return id_; }
  const std::vector<int32_t>& prompt() const { return prompt_; }
  const std::vector<int32_t>& output() const { return output_; }
  bool finished() const { return finish_ != FinishReason::kNone; }
  FinishReason finish_reason() const { return finish_; }
  const SamplingParams& params() const { return params_; }
  Sampler& sampler() { return sampler_; }

  // Records a sampled token: updates text, checks eos / stop ids / stop strings / max_tokens /
  // `max_total_len`. The token is appended to output() unless it stopped generation; so are its
  // `logprobs` when the request asked for them (params().logprobs >= 0).
  void on_token(int32_t token, int max_total_len, SampleLogprobs logprobs = {});
  void finish(FinishReason reason);
  // Text and ids produced since the last call (flushes held-back text once finished).
  RequestOutput take_output();

  RequestMetrics metrics;
  Clock::time_point added_at = Clock::now();
  std::optional<Clock::time_point> first_scheduled, first_token, last_token;

 private:
  void check_stop_strings();

  uint64_t id_;
  std::vector<int32_t> prompt_, output_;
  SamplingParams params_;
  Sampler sampler_;
  std::vector<int32_t> eos_ids_;
  std::unique_ptr<StreamingDetokenizer> detok_;
  std::string text_;          // decoded output text so far (stop string removed once matched)
  size_t emitted_text_ = 0;   // bytes of text_ already returned
  size_t emitted_ids_ = 0;    // ids of output_ already returned
  std::vector<SampleLogprobs> pending_logprobs_;  // of output_[emitted_ids_..], not yet returned
  FinishReason finish_ = FinishReason::kNone;
};

// One sampled step's draws: tokens[r] (and logprobs[r] where the request asked for them) of reqs[r]
// from logits row r (logits[r * vocab, (r + 1) * vocab)). Rows are drawn in parallel on up to
// `num_threads` OpenMP threads: each request's sampler and RNG are its own, so the results do not
// depend on the thread count. Logprobs are of the raw row; penalties then edit the row in place.
DrawnTokens sample_rows(const std::vector<RequestState*>& reqs, std::span<float> logits, int vocab, int num_threads);

}  // namespace swaa
