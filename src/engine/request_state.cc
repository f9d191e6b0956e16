// Per-request output processing: stop conditions and held-back text for stop strings; the
// parallel draw of a sampled step's rows.
#include "engine/request_state.h"

#include <algorithm>

#include "core/check.h"
#include "sampling/logprobs.h"

namespace swaa {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kNone: return "";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
  }
  return "";
}

RequestState::RequestState(uint64_t id, std::vector<int32_t> prompt, const SamplingParams& params,
                           const Tokenizer* tokenizer, std::vector<int32_t> eos_ids)
    : id_(id), prompt_(std::move(prompt)), params_(params), sampler_(params), eos_ids_(std::move(eos_ids)) {
  if (tokenizer != nullptr) detok_ = std::make_unique<StreamingDetokenizer>(*tokenizer, params.skip_special_tokens);
  metrics.prompt_tokens = static_cast<int>(prompt_.size());
}

void RequestState::on_token(int32_t token, int max_total_len, SampleLogprobs logprobs) {
  if (finished()) return;
  const auto contains = [](const std::vector<int32_t>& v, int32_t t) { return std::find(v.begin(), v.end(), t) != v.end(); };
  if ((!params_.ignore_eos && contains(eos_ids_, token)) || contains(params_.stop_token_ids, token)) {
    finish(FinishReason::kStop);
    return;
  }
  output_.push_back(token);
  if (params_.logprobs >= 0) pending_logprobs_.push_back(std::move(logprobs));
  metrics.generated_tokens = static_cast<int>(output_.size());
  if (detok_) text_ += detok_->push(token);
  check_stop_strings();
  if (finished()) return;
  if (static_cast<int>(output_.size()) >= params_.max_tokens ||
      static_cast<int>(prompt_.size() + output_.size()) >= max_total_len) {
    finish(FinishReason::kLength);
  }
}

void RequestState::check_stop_strings() {
  for (const std::string& stop : params_.stop) {
    // A match can only start where it overlaps text not yet emitted.
    const size_t from = emitted_text_ >= stop.size() ? emitted_text_ - stop.size() + 1 : 0;
    const size_t pos = text_.find(stop, from);
    if (pos != std::string::npos) {
      text_.resize(pos);
      emitted_text_ = std::min(emitted_text_, text_.size());
      finish_ = FinishReason::kStop;
      return;
    }
  }
}

void RequestState::finish(FinishReason reason) {
  if (finished()) return;
  finish_ = reason;
  if (detok_ && reason != FinishReason::kStop) text_ += detok_->finish();
}

RequestOutput RequestState::take_output() {
  RequestOutput out;
  out.request_id = id_;
  out.finished = finished();
  out.finish_reason = finish_;
  size_t end = text_.size();
  if (!finished()) {
    // Hold back the longest suffix that is a prefix of some stop string.
    for (const std::string& stop : params_.stop) {
      for (size_t n = std::min(stop.size() - 1, text_.size()); n > 0; --n) {
        if (text_.compare(text_.size() - n, n, stop, 0, n) == 0) {
          end = std::min(end, text_.size() - n);
          break;
        }
      }
    }
  }
  end = std::max(end, emitted_text_);
  out.text = text_.substr(emitted_text_, end - emitted_text_);
  emitted_text_ = end;
  out.token_ids.assign(output_.begin() + static_cast<long>(emitted_ids_), output_.end());
  emitted_ids_ = output_.size();
  out.logprobs = std::move(pending_logprobs_);
  pending_logprobs_.clear();
  out.metrics = metrics;
  return out;
}

DrawnTokens sample_rows(const std::vector<RequestState*>& reqs, std::span<float> logits, int vocab, int num_threads) {
  const int n = static_cast<int>(reqs.size());
  SWAA_CHECK(logits.size() >= static_cast<size_t>(n) * vocab);
  DrawnTokens out;
  out.tokens.resize(n);
  out.logprobs.resize(n);
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::max(1, std::min(num_threads, n))) if (n > 1)
  for (int r = 0; r < n; ++r) {
    RequestState& req = *reqs[r];
    std::span<float> row = logits.subspan(static_cast<size_t>(r) * vocab, vocab);
    const int num_logprobs = req.params().logprobs;
    std::vector<float> raw;
    if (num_logprobs >= 0) raw.assign(row.begin(), row.end());
    out.tokens[r] = req.sampler().sample(row, req.prompt(), req.output());
    if (num_logprobs >= 0) out.logprobs[r] = compute_logprobs(raw, out.tokens[r], num_logprobs);
  }
  return out;
}

}  // namespace swaa
