// The engine thread: drains commands (submit, abort), steps every engine that has work, routes
// each RequestOutput to its RequestHandle, and publishes a stats snapshot after every iteration.
#include "server/engine_worker.h"

#include <algorithm>
#include <chrono>
#include <future>

#include "core/log.h"
#include "server/openai_protocol.h"

namespace swaa::server {

RequestHandle::Batch RequestHandle::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return !events_.empty() || unfinished_ == 0 || !error_.ok(); });
  Batch b;
  b.events.swap(events_);
  b.done = unfinished_ == 0 || !error_.ok();
  b.error = error_;
  return b;
}

Status RequestHandle::wait_accepted() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return accepted_ || !error_.ok(); });
  return error_;
}

void RequestHandle::accept() {
  {
    std::lock_guard lk(mu_);
    accepted_ = true;
  }
  cv_.notify_all();
}

void RequestHandle::push(ChoiceEvent ev) {
  {
    std::lock_guard lk(mu_);
    if (ev.finished) --unfinished_;
    events_.push_back(std::move(ev));
  }
  cv_.notify_all();
}

void RequestHandle::fail(const Status& st) {
  {
    std::lock_guard lk(mu_);
    if (error_.ok()) error_ = st;
  }
  cv_.notify_all();
}

namespace {

// Binary search for the largest prompt + max_tokens that add_request accepts (it rejects what the
// full-attention KV group cannot hold alone). Probe requests are aborted before any step runs them;
// the final step() only reports those aborts. ~log2(max_model_len) calls, at creation.
int probe_sequence_tokens(Engine& engine) {
  RequestInput in;
  in.prompt_token_ids = {0};
  SamplingParams p;
  int lo = 0, hi = engine.max_model_len() - 1;  // lo: largest max_tokens known to fit
  while (lo < hi) {
    p.max_tokens = lo + (hi - lo + 1) / 2;
    auto id = engine.add_request(in, p);
    if (id.ok()) {
      engine.abort(*id);
      lo = p.max_tokens;
    } else {
      hi = p.max_tokens - 1;
    }
  }
  while (engine.has_unfinished()) {
    if (!engine.step().ok()) break;
  }
  return 1 + lo;
}

// One greedy request of `prompt_tokens` fixed token ids generating 2 tokens, run to completion
// before the server takes requests, so that the first client does not pay what a process pays
// once on a GPU: CUDA's lazy kernel loading, cuBLAS's first choice of kernels for the prompt-chunk
// shapes, the recording of the batch-1 decode graph (0.1-0.6 s on an H200, docs/performance.md).
// Nothing of it reaches the server's metrics (the worker thread counts those).
Status warm_up(Engine& engine, int prompt_tokens) {
  RequestInput in;
  const int vocab = std::max(1, engine.vocab_size());
  for (int i = 0; i < prompt_tokens; ++i) in.prompt_token_ids.push_back(static_cast<int32_t>((i * 7919LL + 13) % vocab));
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = 2;
  p.ignore_eos = true;
  auto id = engine.add_request(in, p);
  if (!id.ok()) return id.status().with_context("warmup request");
  while (engine.has_unfinished()) {
    auto step = engine.step();
    if (!step.ok()) return step.status().with_context("warmup request");
  }
  return Status::ok_status();
}

}  // namespace

Result<std::unique_ptr<EngineWorker>> EngineWorker::create(const WorkerOptions& options, ServerMetrics* metrics) {
  if (options.max_queued_requests < 0) {
    return invalid_argument("max_queued_requests must be >= 0, got " + std::to_string(options.max_queued_requests));
  }
  if (options.max_swaa_engines < 0) {
    return invalid_argument("max_swaa_engines must be >= 0, got " + std::to_string(options.max_swaa_engines));
  }
  if (options.warmup_tokens < 0) {
    return invalid_argument("warmup_tokens must be >= 0, got " + std::to_string(options.warmup_tokens));
  }
  std::unique_ptr<EngineWorker> w(new EngineWorker(options, metrics));
  SWAA_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::create(options.engine));
  w->tokenizer_ = engine->tokenizer();
  w->max_model_len_ = engine->max_model_len();
  w->vocab_size_ = engine->vocab_size();
  w->default_key_ = swaa_key(options.engine.swaa);
  w->kv_sequence_tokens_ = probe_sequence_tokens(*engine);
  // The prompt and its 2 tokens must fit max_model_len and the KV cache (kv_sequence_tokens: the
  // largest prompt + max_tokens the engine accepts).
  w->warmup_tokens_ = std::max(0, std::min({options.warmup_tokens, engine->max_model_len() - 2, w->kv_sequence_tokens_ - 2}));
  w->slots_[w->default_key_].engine = std::move(engine);
  w->engine_keys_.insert(w->default_key_);
  // The warmup runs on the worker thread, before its loop: per-thread state (OpenMP's thread team,
  // OpenBLAS's buffers, the CUDA runtime's per-thread setup) is what the first client would
  // otherwise pay. create() returns once it is done; a failed warmup stops the thread (destructor).
  std::promise<Status> warmed;
  std::future<Status> warm = warmed.get_future();
  w->thread_ = std::thread([p = w.get(), warmed = std::move(warmed)]() mutable {
    Status s = p->warm_up_default_engine();
    p->publish_stats();  // the KV cache's peak sees the warmup; nothing else counts it
    warmed.set_value(std::move(s));
    p->loop();
  });
  SWAA_RETURN_IF_ERROR(warm.get());
  return w;
}

Status EngineWorker::warm_up_default_engine() {
  if (warmup_tokens_ == 0) return Status::ok_status();
  const auto t0 = std::chrono::steady_clock::now();
  SWAA_RETURN_IF_ERROR(warm_up(*slots_.at(default_key_).engine, warmup_tokens_));
  log::info("warmup: {} prompt tokens + 2 generated in {:.3f} s", warmup_tokens_,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return Status::ok_status();
}

EngineWorker::~EngineWorker() { stop(); }

EngineWorker::Admit EngineWorker::admit(const std::string& key, int n) {
  std::lock_guard lk(mu_);
  if (stopping_) return Admit::kQueueFull;
  const int limit = options_.engine.max_num_seqs + options_.max_queued_requests;
  if (n > limit) return Admit::kTooLarge;
  if (in_flight_ + n > limit) return Admit::kQueueFull;
  if (!engine_keys_.count(key)) {
    if (static_cast<int>(engine_keys_.size()) >= 1 + options_.max_swaa_engines) return Admit::kNoEngineSlot;
    engine_keys_.insert(key);
  }
  in_flight_ += n;
  return Admit::kOk;
}

std::shared_ptr<RequestHandle> EngineWorker::submit(const std::string& key, const SwaaConfig& swaa,
                                                    std::vector<Sequence> sequences) {
  auto h = std::make_shared<RequestHandle>(static_cast<int>(sequences.size()));
  h->engine_key_ = key;
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      commands_.push_back(Command{Command::kSubmit, h, swaa, std::move(sequences)});
      cv_.notify_all();
      return h;
    }
    in_flight_ -= static_cast<int>(sequences.size());  // admitted just before stop(): nobody will run it
  }
  h->fail(internal_error("the server is shutting down"));
  return h;
}

void EngineWorker::abort(const std::shared_ptr<RequestHandle>& handle) {
  {
    std::lock_guard lk(mu_);
    commands_.push_back(Command{Command::kAbort, handle, {}, {}});
  }
  cv_.notify_all();
}

WorkerStats EngineWorker::stats() const {
  std::lock_guard lk(mu_);
  WorkerStats s = stats_;
  s.in_flight = in_flight_;
  return s;
}

void EngineWorker::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  const Status down = internal_error("the server is shutting down");
  std::lock_guard lk(mu_);
  for (Command& c : commands_) {
    if (c.kind == Command::kSubmit) {
      in_flight_ -= static_cast<int>(c.sequences.size());
      c.handle->fail(down);
    }
  }
  commands_.clear();
  for (auto& [key, slot] : slots_) {
    for (auto& [id, live] : slot.live) {
      live.handle->fail(down);
      --in_flight_;
    }
    slot.live.clear();
  }
}

void EngineWorker::loop() {
  std::unique_lock lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stopping_ || !commands_.empty() || has_work_; });
    if (stopping_) return;
    std::deque<Command> cmds;
    cmds.swap(commands_);
    lk.unlock();
    for (Command& c : cmds) {
      if (c.kind == Command::kSubmit) run_submit(c);
      else run_abort(c);
    }
    bool work = false;
    for (auto& [key, slot] : slots_) {
      if (!slot.engine->has_unfinished()) continue;
      step(key, slot);
      work = work || slot.engine->has_unfinished();
    }
    publish_stats();
    lk.lock();
    has_work_ = work;
  }
}

void EngineWorker::run_submit(Command& c) {
  RequestHandle& h = *c.handle;
  auto it = slots_.find(h.engine_key_);
  if (it == slots_.end()) {
    EngineOptions o = options_.engine;
    o.swaa = c.swaa;
    log::info("serve: creating an engine for SWAA settings {}", h.engine_key_);
    auto e = Engine::create(o);
    if (!e.ok()) {
      std::lock_guard lk(mu_);
      engine_keys_.erase(h.engine_key_);
      in_flight_ -= static_cast<int>(c.sequences.size());
      h.fail(e.status().with_context("creating an engine for the request's swaa settings"));
      return;
    }
    it = slots_.emplace(h.engine_key_, Slot{std::move(e).value(), {}}).first;
  }
  Slot& slot = it->second;
  for (size_t i = 0; i < c.sequences.size(); ++i) {
    RequestInput in;
    in.prompt_token_ids = std::move(c.sequences[i].prompt_ids);
    auto id = slot.engine->add_request(in, c.sequences[i].params);
    if (!id.ok()) {
      for (uint64_t added : h.engine_ids_) slot.engine->abort(added);  // reported (and counted) by the next step
      {
        std::lock_guard lk(mu_);
        in_flight_ -= static_cast<int>(c.sequences.size() - i);
      }
      h.fail(id.status());
      return;
    }
    h.engine_ids_.push_back(*id);
    slot.live[*id] = Live{c.handle, static_cast<int>(i), std::chrono::steady_clock::now()};
  }
  h.accept();
}

void EngineWorker::run_abort(const Command& c) {
  auto it = slots_.find(c.handle->engine_key_);
  if (it == slots_.end()) return;
  for (uint64_t id : c.handle->engine_ids_) {
    if (it->second.live.count(id)) it->second.engine->abort(id);
  }
}

void EngineWorker::step(const std::string& key, Slot& slot) {
  auto outs = slot.engine->step();
  if (!outs.ok()) {
    log::write(log::Level::kError, "serve: engine step failed (" + key + "): " + outs.status().message());
    for (auto& [id, live] : slot.live) {
      slot.engine->abort(id);
      live.handle->fail(outs.status());
      metrics_->count_finished(0, "error", 0);
    }
    {
      std::lock_guard lk(mu_);
      in_flight_ -= static_cast<int>(slot.live.size());
      stats_.healthy = false;
    }
    slot.live.clear();
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  for (RequestOutput& o : *outs) {
    auto it = slot.live.find(o.request_id);
    if (it == slot.live.end()) continue;
    Live& live = it->second;
    const int k = static_cast<int>(o.token_ids.size());
    if (k > 0) {
      metrics_->count_generated(k);
      if (o.metrics.generated_tokens == k) {
        metrics_->observe_ttft(o.metrics.time_to_first_token);
        if (k > 1) metrics_->observe_inter_token(std::chrono::duration<double>(now - live.last_token).count() / k, k - 1);
      } else {
        metrics_->observe_inter_token(std::chrono::duration<double>(now - live.last_token).count() / k, k);
      }
      live.last_token = now;
    }
    ChoiceEvent ev;
    ev.choice = live.choice;
    ev.text = std::move(o.text);
    ev.num_new_tokens = k;
    ev.token_ids = std::move(o.token_ids);
    ev.logprobs = std::move(o.logprobs);
    ev.finished = o.finished;
    ev.finish_reason = o.finish_reason;
    ev.metrics = o.metrics;
    if (o.finished) {
      const RequestMetrics& m = o.metrics;
      metrics_->count_finished(m.prompt_tokens, finish_reason_name(o.finish_reason),
                               m.time_to_first_token + m.decode_seconds);
    }
    live.handle->push(std::move(ev));
    if (o.finished) finish_sequence(slot, o.request_id);
  }
}

void EngineWorker::finish_sequence(Slot& slot, uint64_t id) {
  slot.live.erase(id);
  std::lock_guard lk(mu_);
  --in_flight_;
}

void EngineWorker::publish_stats() {
  WorkerStats s;
  s.num_engines = static_cast<int>(slots_.size());
  for (const auto& [key, slot] : slots_) {
    const KvStats k = slot.engine->kv_stats();
    s.kv.live_bytes += k.live_bytes;
    s.kv.live_bytes_full += k.live_bytes_full;
    s.kv.live_bytes_windowed += k.live_bytes_windowed;
    s.kv.peak_live_bytes += k.peak_live_bytes;
    s.kv.capacity_bytes += k.capacity_bytes;
    s.kv.num_running += k.num_running;
    s.kv.num_waiting += k.num_waiting;
  }
  std::lock_guard lk(mu_);
  s.healthy = stats_.healthy;
  stats_ = s;
}

}  // namespace swaa::server
