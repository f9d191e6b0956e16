// Engine: the public generation API. Requests (text, token ids or chat messages) are added at any
// time; each step() runs one continuously batched forward pass (decode tokens and prefill chunks
// of many requests together) and returns what every scheduled request produced.
// `generate` is the offline convenience on top. Thread-compatible (one thread drives it).
// Tests: tests/e2e/engine_test.cc, tests/unit/sched/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "swaa/logprobs.h"
#include "swaa/sampling_params.h"
#include "swaa/status.h"
#include "swaa/swaa_config.h"
#include "swaa/tokenizer.h"

namespace swaa {

struct EngineOptions {
  std::string model_dir;
  SwaaConfig swaa;
  std::string device = "cpu";         // "cpu", "cuda" or "cuda:N" (CUDA builds only)
  int num_threads = 0;                // CPU threads; 0 = all cores
  int block_size = 16;                // KV block size in tokens
  int64_t kv_cache_bytes = 0;         // KV cache capacity; 0 = 4 GiB on the CPU
  int max_num_seqs = 16;              // sequences running at once
  int max_num_batched_tokens = 512;   // tokens per step; also the longest prefill chunk
  int max_model_len = 0;              // prompt + generation; 0 = config max_position_embeddings
};

struct RequestInput {
  std::string prompt;                    // raw text (special tokens of the tokenizer's post-processor added)
  std::vector<int32_t> prompt_token_ids; // used when non-empty, as given
  std::string messages_json;             // JSON array of {"role","content"}: rendered with the chat template
  bool chat = false;                     // wrap `prompt` as one user message and apply the chat template
  std::optional<bool> enable_thinking;   // chat templates with a thinking switch (Qwen3)
};

enum class FinishReason { kNone, kStop, kLength, kAbort };
const char* finish_reason_name(FinishReason r);  // "", "stop", "length", "abort"

struct RequestMetrics {
  int prompt_tokens = 0;
  int generated_tokens = 0;
  int computed_prompt_tokens = 0;  // prefill progress
  int preemptions = 0;
  double queue_seconds = 0;        // added -> first scheduled
  double time_to_first_token = 0;  // added -> first generated token
  double prefill_seconds = 0;      // first scheduled -> first generated token
  double decode_seconds = 0;       // first generated token -> last
};

// What one step produced for one request (deltas: new text and ids since the last output).
// Ids are returned as soon as they are sampled, even while their text is held back for a stop
// string; `logprobs` (SamplingParams::logprobs >= 0, else empty) has one entry per id, in order.
struct RequestOutput {
  uint64_t request_id = 0;
  std::string text;
  std::vector<int32_t> token_ids;
  std::vector<SampleLogprobs> logprobs;
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
  RequestMetrics metrics;
};

struct GenerationResult {
  std::string text;
  std::vector<int32_t> token_ids;
  std::vector<SampleLogprobs> logprobs;  // one per token id when SamplingParams::logprobs >= 0
  FinishReason finish_reason = FinishReason::kNone;
  RequestMetrics metrics;
};

struct KvStats {
  int64_t live_bytes = 0, peak_live_bytes = 0, capacity_bytes = 0;
  int64_t live_bytes_full = 0, live_bytes_windowed = 0;
  int num_running = 0, num_waiting = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> create(const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and queues a request; errors name the bad field (empty prompt, token id out of
  // vocabulary, prompt + max_tokens beyond max_model_len or beyond the KV cache).
  Result<uint64_t> add_request(const RequestInput& input, const SamplingParams& params);
  // One forward pass over the scheduled batch. Returns an output for every request that was
  // scheduled or finished in this step (text may be empty while a prompt is being prefilled).
  Result<std::vector<RequestOutput>> step();
  // Stops a request now; its KV is freed. The next step() reports it finished with kAbort.
  void abort(uint64_t request_id);
  bool has_unfinished() const;

  // Runs `inputs` to completion (continuous batching) and returns one result per input, in order.
  Result<std::vector<GenerationResult>> generate(const std::vector<RequestInput>& inputs,
                                                 const SamplingParams& params);

  const Tokenizer* tokenizer() const;  // nullptr when the model directory has no tokenizer.json
  int vocab_size() const;
  int max_model_len() const;
  KvStats kv_stats() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swaa
