// Engine: owns backend, model, KV manager, scheduler and request states; step() = schedule ->
// build the varlen layout -> forward -> sample -> stop checks -> outputs.
#include "swaa/engine.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <omp.h>
#include <nlohmann/json.hpp>

#include "attention/attention_layout.h"
#include "backend/backend.h"
#include "core/env.h"
#include "engine/kv_sizing.h"
#include "engine/layout_builder.h"
#include "engine/request_state.h"
#include "kv/kv_cache_manager.h"
#include "model/model.h"
#include "sampling/logprobs.h"
#include "sched/scheduler.h"
#include "swaa/chat.h"

namespace swaa {

struct Engine::Impl {
  EngineOptions options;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
  std::unique_ptr<KvCacheManager> kv;
  std::unique_ptr<Scheduler> scheduler;
  std::map<uint64_t, std::unique_ptr<RequestState>> requests;
  std::vector<uint64_t> aborted;  // finished by abort(), reported by the next step()
  uint64_t next_id = 1;
  int max_model_len = 0;
  int64_t peak_live_bytes = 0;
  // Greedy steps take their tokens from Model::forward_tokens (SWAA_GREEDY_ON_BACKEND=0: from the
  // logits on the host, for comparisons); so do sampled steps on a backend that draws on its
  // device (SWAA_SAMPLE_ON_DEVICE=0: on the host).
  bool greedy_on_backend = true;
  bool sample_on_device = true;

  Result<std::vector<int32_t>> prompt_ids(const RequestInput& in) const;
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::create(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (options.block_size < 1) return invalid_argument("block_size must be >= 1, got " + std::to_string(options.block_size));
  if (options.max_num_seqs < 1) return invalid_argument("max_num_seqs must be >= 1, got " + std::to_string(options.max_num_seqs));
  if (options.max_num_batched_tokens < 1) {
    return invalid_argument("max_num_batched_tokens must be >= 1, got " + std::to_string(options.max_num_batched_tokens));
  }
  if (options.kv_cache_bytes < 0) return invalid_argument("kv_cache_bytes must be >= 0");
  SWAA_ASSIGN_OR_RETURN(impl->backend, make_backend(options.device, options.num_threads));
  impl->greedy_on_backend = !env_switched_off("SWAA_GREEDY_ON_BACKEND");
  impl->sample_on_device = !env_switched_off("SWAA_SAMPLE_ON_DEVICE");
  SWAA_ASSIGN_OR_RETURN(impl->model, Model::load(options.model_dir, *impl->backend, options.swaa));
  const ModelConfig& mc = impl->model->config();
  if (std::filesystem::exists(options.model_dir + "/tokenizer.json")) {
    SWAA_ASSIGN_OR_RETURN(Tokenizer tok, Tokenizer::from_dir(options.model_dir));
    impl->tokenizer = std::move(tok);
  }
  impl->max_model_len = options.max_model_len > 0 ? options.max_model_len : mc.max_position_embeddings;
  const int64_t kv_bytes = options.kv_cache_bytes > 0 ? options.kv_cache_bytes : (4LL << 30);
  KvCacheSpec spec = size_kv_cache(*impl->model, options, impl->max_model_len, kv_bytes);
  if (spec.groups[0].num_layers > 0 && spec.groups[0].num_blocks < 1) {
    return invalid_argument("kv_cache_bytes " + std::to_string(kv_bytes) + " is too small for one KV block");
  }
  SWAA_RETURN_IF_ERROR(impl->model->allocate_kv(spec));
  impl->kv = std::make_unique<KvCacheManager>(spec);
  impl->scheduler = std::make_unique<Scheduler>(
      *impl->kv, SchedulerOptions{options.max_num_seqs, options.max_num_batched_tokens});
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Result<std::vector<int32_t>> Engine::Impl::prompt_ids(const RequestInput& in) const {
  if (!in.prompt_token_ids.empty()) return in.prompt_token_ids;
  if (!tokenizer) {
    return invalid_argument(options.model_dir + " has no tokenizer.json: give the prompt as token ids");
  }
  std::string messages = in.messages_json;
  if (messages.empty() && in.chat) {
    messages = nlohmann::json::array({{{"role", "user"}, {"content", in.prompt}}}).dump();
  }
  if (!messages.empty()) {
    ChatOptions chat;
    chat.enable_thinking = in.enable_thinking;
    SWAA_ASSIGN_OR_RETURN(std::string text, render_chat(*tokenizer, messages, chat));
    return tokenizer->encode(text, /*add_special_tokens=*/false);
  }
  return tokenizer->encode(in.prompt, /*add_special_tokens=*/true);
}

Result<uint64_t> Engine::add_request(const RequestInput& input, const SamplingParams& params) {
  Impl& m = *impl_;
  SWAA_RETURN_IF_ERROR(validate(params));
  SWAA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, m.prompt_ids(input));
  if (ids.empty()) return invalid_argument("the prompt is empty");
  const int vocab = m.model->config().vocab_size;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      return invalid_argument("prompt token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                              " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  const int prompt_len = static_cast<int>(ids.size());
  if (prompt_len >= m.max_model_len) {
    return invalid_argument("prompt of " + std::to_string(prompt_len) + " tokens leaves no room to generate within max_model_len " +
                            std::to_string(m.max_model_len) +
                            " (the checkpoint's max_position_embeddings unless --max-model-len sets it)");
  }
  // The full KV group must be able to hold the whole sequence alone, or it could never finish.
  const int total = std::min(prompt_len + params.max_tokens, m.max_model_len);
  SequenceKv probe;
  const auto need = m.kv->blocks_needed(probe, total);
  const int full = static_cast<int>(KvGroup::kFull);
  if (need[full] > m.kv->spec().groups[full].num_blocks) {
    return resource_exhausted("prompt of " + std::to_string(prompt_len) + " tokens + max_tokens " +
                              std::to_string(params.max_tokens) + " needs " + std::to_string(need[full]) +
                              " KV blocks in full-attention layers but the cache holds " +
                              std::to_string(m.kv->spec().groups[full].num_blocks) + " (raise kv_cache_bytes)");
  }
  const uint64_t id = m.next_id++;
  std::vector<int32_t> eos = m.tokenizer ? m.tokenizer->config().stop_token_ids : std::vector<int32_t>{};
  m.requests[id] = std::make_unique<RequestState>(id, ids, params, m.tokenizer ? &*m.tokenizer : nullptr, eos);
  auto seq = std::make_unique<Sequence>();
  seq->id = id;
  seq->tokens = std::move(ids);
  seq->prompt_len = prompt_len;
  m.scheduler->add(std::move(seq));
  return id;
}

Result<std::vector<RequestOutput>> Engine::step() {
  Impl& m = *impl_;
  std::vector<RequestOutput> outputs;
  for (uint64_t id : m.aborted) {
    auto it = m.requests.find(id);
    if (it == m.requests.end()) continue;
    outputs.push_back(it->second->take_output());
    m.requests.erase(it);
  }
  m.aborted.clear();
  StepPlan plan = m.scheduler->schedule();
  if (plan.empty()) return outputs;
  const auto now = RequestState::Clock::now();
  std::vector<LayoutChunk> chunks;
  std::vector<int> logit_rows;         // the last token of every chunk that yields a token
  std::vector<RequestState*> sampled;  // the requests of those rows, in row order
  int rows_so_far = 0;
  for (const ScheduledChunk& c : plan.chunks) {
    chunks.push_back({&c.seq->kv, &c.seq->tokens, c.seq->prompt_len, c.begin, c.count});
    rows_so_far += c.count;
    if (c.samples()) {
      logit_rows.push_back(rows_so_far - 1);
      sampled.push_back(m.requests.at(c.seq->id).get());
    }
  }
  std::vector<int32_t> ids;
  AttentionLayout layout = build_layout(*m.kv, chunks, ids);
  m.peak_live_bytes = std::max(m.peak_live_bytes, m.kv->live_bytes());
  // Steps whose sampled rows are all plain greedy take each row's argmax from the backend instead
  // of its logits (a device backend then copies 4 bytes per row, not 4 x vocab). On a backend that
  // draws on its device, so do the other steps: each request's sampler hands over its next draw
  // (and advances its RNG as a host draw would) and its penalties as logit edits the device
  // applies first, and rows that ask for logprobs get them from the device too (of the unedited
  // row). Otherwise every row's token is drawn on the host, rows in parallel (sample_rows: the same
  // tokens whatever the thread count; also the CPU backend's steps with logprobs, which its
  // Backend::draw_rows_f32 would compute one row after another).
  auto greedy = [](RequestState* r) { return r->sampler().plain_greedy(); };
  auto with_logprobs = [](RequestState* r) { return r->params().logprobs >= 0; };
  const bool all_greedy = std::all_of(sampled.begin(), sampled.end(), greedy);
  const bool device_draws = m.model->draws_on_device();
  const bool on_device =
      (device_draws || std::none_of(sampled.begin(), sampled.end(), with_logprobs)) &&
      (all_greedy ? m.greedy_on_backend
                  : m.sample_on_device && device_draws &&
                        (m.greedy_on_backend || std::none_of(sampled.begin(), sampled.end(), greedy)));
  DrawnTokens drawn;
  if (on_device) {
    StepDraws draws;
    draws.rows.reserve(sampled.size());
    for (RequestState* r : sampled) {
      const int32_t row = static_cast<int32_t>(draws.rows.size());
      r->sampler().penalty_edits(row, m.model->config().vocab_size, r->prompt(), r->output(), draws.edits);
      draws.rows.push_back(r->sampler().next_draw());
    }
    SWAA_ASSIGN_OR_RETURN(drawn, m.model->forward_tokens(ids, layout, logit_rows, draws));
  } else {
    SWAA_ASSIGN_OR_RETURN(std::vector<float> logits, m.model->forward(ids, layout, logit_rows));
    drawn = sample_rows(sampled, logits, m.model->config().vocab_size, omp_get_max_threads());
  }
  m.scheduler->commit(plan);
  size_t row = 0;
  for (const ScheduledChunk& c : plan.chunks) {
    Sequence& seq = *c.seq;
    RequestState& req = *m.requests.at(seq.id);
    if (!req.first_scheduled) req.first_scheduled = now;
    req.metrics.computed_prompt_tokens = std::min(seq.num_computed, seq.prompt_len);
    req.metrics.preemptions = seq.num_preemptions;
    if (c.samples()) {
      const int32_t token = drawn.tokens[row];
      SampleLogprobs lp = std::move(drawn.logprobs[row]);
      ++row;
      const auto t = RequestState::Clock::now();
      if (!req.first_token) {
        req.first_token = t;
        req.metrics.time_to_first_token = std::chrono::duration<double>(t - req.added_at).count();
        req.metrics.queue_seconds = std::chrono::duration<double>(*req.first_scheduled - req.added_at).count();
        req.metrics.prefill_seconds = std::chrono::duration<double>(t - *req.first_scheduled).count();
      }
      req.last_token = t;
      req.metrics.decode_seconds = std::chrono::duration<double>(t - *req.first_token).count();
      req.on_token(token, m.max_model_len, std::move(lp));
      if (!req.finished()) seq.tokens.push_back(token);
    }
    outputs.push_back(req.take_output());
    if (req.finished()) {
      m.scheduler->remove(seq.id);
      m.requests.erase(seq.id);
    }
  }
  return outputs;
}

void Engine::abort(uint64_t request_id) {
  Impl& m = *impl_;
  auto it = m.requests.find(request_id);
  if (it == m.requests.end() || it->second->finished()) return;
  m.scheduler->remove(request_id);
  it->second->finish(FinishReason::kAbort);
  m.aborted.push_back(request_id);
}

bool Engine::has_unfinished() const { return impl_->scheduler->has_work() || !impl_->aborted.empty(); }

Result<std::vector<GenerationResult>> Engine::generate(const std::vector<RequestInput>& inputs,
                                                       const SamplingParams& params) {
  std::map<uint64_t, size_t> index;
  std::vector<GenerationResult> results(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    SWAA_ASSIGN_OR_RETURN(uint64_t id, add_request(inputs[i], params));
    index[id] = i;
  }
  while (has_unfinished()) {
    SWAA_ASSIGN_OR_RETURN(std::vector<RequestOutput> outs, step());
    for (const RequestOutput& o : outs) {
      auto it = index.find(o.request_id);
      if (it == index.end()) continue;
      GenerationResult& r = results[it->second];
      r.text += o.text;
      r.token_ids.insert(r.token_ids.end(), o.token_ids.begin(), o.token_ids.end());
      r.logprobs.insert(r.logprobs.end(), o.logprobs.begin(), o.logprobs.end());
      r.metrics = o.metrics;
      if (o.finished) r.finish_reason = o.finish_reason;
    }
  }
  return results;
}

const Tokenizer* Engine::tokenizer() const { return impl_->tokenizer ? &*impl_->tokenizer : nullptr; }
int Engine::vocab_size() const { return impl_->model->config().vocab_size; }
int Engine::max_model_len() const { return impl_->max_model_len; }

KvStats Engine::kv_stats() const {
  const Impl& m = *impl_;
  KvStats s;
  s.live_bytes_full = m.kv->live_bytes(KvGroup::kFull);
  s.live_bytes_windowed = m.kv->live_bytes(KvGroup::kWindowed);
  s.live_bytes = s.live_bytes_full + s.live_bytes_windowed;
  s.peak_live_bytes = std::max(m.peak_live_bytes, s.live_bytes);
  for (int g = 0; g < kNumKvGroups; ++g) {
    s.capacity_bytes += m.kv->spec().groups[g].num_blocks * m.kv->block_bytes(static_cast<KvGroup>(g));
  }
  s.num_running = m.scheduler->num_running();
  s.num_waiting = m.scheduler->num_waiting();
  return s;
}

}  // namespace swaa
