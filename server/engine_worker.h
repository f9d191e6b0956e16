// EngineWorker: the one thread that drives the (single-threaded) Engine, and the thread-safe queue
// between it and the HTTP handler threads. Handlers admit (reserve queue slots), submit token-id
// prompts, then read per-request events from a RequestHandle; abort() frees a request's KV at the
// next step. Invariant: every admitted sequence leaves `in_flight` exactly once (finished, aborted
// or failed). Requests whose SWAA settings differ from the server's run in extra engines (a keyed
// pool, at most max_swaa_engines, each with its own weights and KV cache; see docs/server.md).
// Tests: tests/server/server_http_test.cc, tests/server/server_load_test.cc
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/server_metrics.h"
#include "swaa/engine.h"

namespace swaa::server {

// What one engine step produced for one choice of a request.
struct ChoiceEvent {
  int choice = 0;
  std::string text;  // new text since the previous event
  int num_new_tokens = 0;
  std::vector<int32_t> token_ids;         // the new tokens (may run ahead of text held back for stop strings)
  std::vector<SampleLogprobs> logprobs;   // one per new token when the request asked for logprobs
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
  RequestMetrics metrics;
};

// Shared by one HTTP handler and the engine thread.
class RequestHandle {
 public:
  explicit RequestHandle(int num_choices) : num_choices_(num_choices), unfinished_(num_choices) {}
  struct Batch {
    std::vector<ChoiceEvent> events;
    bool done = false;  // every choice finished, or the request failed
    Status error;       // why it failed
  };
  // Waits up to `timeout` for new events (returns at once when some are pending or it is done).
  Batch wait(std::chrono::milliseconds timeout);
  // Waits until the engine has accepted every choice (add_request succeeded) or refused the
  // request; returns the refusal. Lets a stream fail with a real HTTP status before it starts.
  Status wait_accepted();
  int num_choices() const { return num_choices_; }

  // Engine thread.
  void push(ChoiceEvent ev);
  void fail(const Status& st);
  void accept();

 private:
  friend class EngineWorker;
  const int num_choices_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ChoiceEvent> events_;
  int unfinished_;
  bool accepted_ = false;
  Status error_;
  // Engine thread only: where the choices run.
  std::string engine_key_;
  std::vector<uint64_t> engine_ids_;
};

struct WorkerOptions {
  EngineOptions engine;          // the server default, including its SwaaConfig
  int max_queued_requests = 128;  // sequences admitted beyond max_num_seqs before 503
  int max_swaa_engines = 0;      // extra engines for per-request SWAA settings (0 = reject them)
  int warmup_tokens = 0;         // prompt tokens of one request run before serving (0 = none; clamped to fit)
};

// A consistent snapshot for /metrics and tests.
struct WorkerStats {
  KvStats kv;            // summed over the engines
  int in_flight = 0;     // admitted sequences not yet finished
  int num_engines = 1;
  bool healthy = true;   // false after an engine step failed
};

class EngineWorker {
 public:
  static Result<std::unique_ptr<EngineWorker>> create(const WorkerOptions& options, ServerMetrics* metrics);
  ~EngineWorker();  // stop()

  // Immutable after creation; safe from any thread.
  const Tokenizer* tokenizer() const { return tokenizer_; }
  int max_model_len() const { return max_model_len_; }
  int vocab_size() const { return vocab_size_; }
  const std::string& default_swaa_key() const { return default_key_; }
  // The longest sequence (prompt + completion) the default engine's KV cache holds alone, found at
  // creation by probing add_request (the engine API does not report it); max_model_len if larger.
  int kv_sequence_tokens() const { return kv_sequence_tokens_; }
  int warmup_tokens() const { return warmup_tokens_; }  // what the warmup request had (0: none)

  enum class Admit { kOk, kQueueFull, kNoEngineSlot, kTooLarge };
  // Reserves `num_sequences` slots (and an engine for `swaa_key`); every kOk must be followed by
  // exactly one submit() with that many sequences.
  Admit admit(const std::string& swaa_key, int num_sequences);
  struct Sequence {
    std::vector<int32_t> prompt_ids;
    SamplingParams params;
  };
  // Choice i of the handle is sequences[i]. `swaa` is used only when its key is not the default.
  std::shared_ptr<RequestHandle> submit(const std::string& swaa_key, const SwaaConfig& swaa,
                                        std::vector<Sequence> sequences);
  void abort(const std::shared_ptr<RequestHandle>& handle);

  WorkerStats stats() const;
  // Fails every live request ("server is shutting down") and joins the engine thread.
  void stop();

 private:
  struct Live {
    std::shared_ptr<RequestHandle> handle;
    int choice = 0;
    std::chrono::steady_clock::time_point last_token;
  };
  struct Slot {
    std::unique_ptr<Engine> engine;
    std::map<uint64_t, Live> live;
  };
  struct Command {
    enum Kind { kSubmit, kAbort } kind;
    std::shared_ptr<RequestHandle> handle;
    SwaaConfig swaa;
    std::vector<Sequence> sequences;
  };

  EngineWorker(const WorkerOptions& options, ServerMetrics* metrics) : options_(options), metrics_(metrics) {}
  void loop();
  Status warm_up_default_engine();  // on the worker thread, before loop()
  void run_submit(Command& c);
  void run_abort(const Command& c);
  void step(const std::string& key, Slot& slot);
  void finish_sequence(Slot& slot, uint64_t id);
  void publish_stats();

  const WorkerOptions options_;
  ServerMetrics* metrics_;
  const Tokenizer* tokenizer_ = nullptr;
  int max_model_len_ = 0, vocab_size_ = 0, kv_sequence_tokens_ = 0, warmup_tokens_ = 0;
  std::string default_key_;

  std::map<std::string, Slot> slots_;  // engine thread only

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<Command> commands_;
  std::set<std::string> engine_keys_;  // keys with an engine or one being created
  int in_flight_ = 0;
  bool has_work_ = false, stopping_ = false;
  WorkerStats stats_;
  std::thread thread_;
};

}  // namespace swaa::server
