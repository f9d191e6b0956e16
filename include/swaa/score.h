// Scoring API: log-probabilities of a token sequence under a SWAA configuration, the way
// `swaa score` computes them (DESIGN.md §3): the first P tokens are one prompt (prefilled, in
// chunks if asked), every later token is fed as a generated token, one decode step each.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "swaa/status.h"
#include "swaa/swaa_config.h"

namespace swaa {

struct ScoreOptions {
  std::string model_dir;
  SwaaConfig swaa;
  int prompt_tokens = 0;   // P; tokens [P, T) are generated tokens
  int prefill_chunk = 0;   // 0 = the whole prompt in one step
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  int num_threads = 0;     // 0 = all cores
  int block_size = 16;     // KV cache block size in tokens
  // Called after every step with (tokens done, total tokens); may be empty.
  std::function<void(int, int)> progress;
};

// Live KV cache bytes after a step that brought the processed token count to `num_tokens`.
struct KvSample {
  int num_tokens = 0;
  int64_t full_bytes = 0;
  int64_t windowed_bytes = 0;
};

struct ScoreResult {
  std::vector<double> logprobs;  // T-1 values: log p(token[t+1] | tokens[0..t])
  std::vector<KvSample> kv_trace;
  int64_t peak_kv_bytes = 0;
  double load_seconds = 0, prefill_seconds = 0, decode_seconds = 0;
};

Result<ScoreResult> score_tokens(const ScoreOptions& options, const std::vector<int32_t>& tokens);

}  // namespace swaa
