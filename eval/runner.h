// run_setting: one SWAA configuration over prepared prompts. One Engine per configuration (the
// engine takes its SwaaConfig at creation; loading is cheap next to a long-context run), greedy
// decoding, every request queued at once so continuous batching runs them. Step wall time is
// split between prefill and decode in proportion to the prompt and generated tokens each step
// computed, so the two add up to the time spent in steps. Tests: tests/unit/eval/eval_e2e_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/eval_sample.h"
#include "eval/settings.h"
#include "swaa/engine.h"

namespace swaa::eval {

struct PreparedSample {
  EvalSample sample;
  std::vector<int32_t> prompt_ids;  // exactly what the model reads
  int max_tokens = 0;               // resolved generation budget
  std::string length_bin;           // "1k" (synthetic target) or "16-32k" (datasets)
  int length_bin_order = 0;         // sorts the bins
};

struct SampleOutcome {
  const PreparedSample* prepared = nullptr;
  std::string output;  // the generated text
  std::string answer;  // what was scored (after the last </think>)
  double score = 0;
  int generated_tokens = 0;
  double time_to_first_token = 0;
  FinishReason finish_reason = FinishReason::kNone;
};

struct SettingOutcome {
  EvalSetting setting;
  std::vector<SampleOutcome> samples;  // in the order of the prepared samples
  double wall_seconds = 0;             // engine creation excluded
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0;
  int64_t peak_kv_bytes = 0;
};

struct RunOptions {
  EngineOptions engine;   // swaa is replaced by each setting's config
  bool thinking = false;  // the model was asked to think: an answer needs "</think>"
  bool progress = true;   // progress on stderr
};

Result<SettingOutcome> run_setting(const EvalSetting& setting, const std::vector<PreparedSample>& samples,
                                   const RunOptions& options);

}  // namespace swaa::eval
