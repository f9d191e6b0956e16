// `swaa bench`: throughput of the engine on random prompts: prefill tokens/s, decode tokens/s,
// time to first token and peak KV bytes for a prompt length, generation length and batch size.
// --warmup N runs N untimed batches of the same shape first (other random prompts), so that what
// a process pays once (CUDA module loading, cuBLAS heuristics, graph recording) is not measured.
// Prefill time runs until every request has its first token; decode tokens/s counts only the
// tokens generated after that, over the time after that (requests whose prompts were read first
// already decode while later prompts are read: neither those tokens nor that time count). Decode
// at the full batch counts only the steps after that in which every request still decodes (up to
// the step in which the first one finishes): with staggered prompts and a short --gen-len the
// decode rate above averages over a batch that is already shrinking.
// All --batch requests run at once: the engine's sequence limit is raised to the batch unless
// --max-num-seqs is given. Tokens are greedy unless --temperature (with --top-p, --top-k, --min-p)
// asks for sampled ones, drawn with --seed; --repetition-penalty, --presence-penalty and
// --frequency-penalty apply to either, and --logprobs N has every token report its log-probability
// and N alternatives (as an API request with logprobs would).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "commands.h"
#include "engine_flags.h"

namespace swaa::cli {
namespace {

struct BenchArgs {
  EngineFlags engine;
  int prompt_len = 512, gen_len = 32, batch = 1, warmup = 0;
  uint64_t seed = 0;
  SamplingParams sampling;  // temperature 0 (greedy) unless asked
  bool json = false;
};

struct BatchTimes {
  double prefill_s = 0, decode_s = 0, total_s = 0, ttft_sum = 0, ttft_max = 0;
  int64_t generated = 0;
  int64_t generated_before_decode = 0;  // tokens out when the last request got its first one
  // The steps after that up to the first finish, in which every request decodes one token.
  double full_batch_s = 0;
  int64_t full_batch_tokens = 0, full_batch_steps = 0;
};

// One batch of a.batch random prompts, run to completion.
BatchTimes run_batch(Engine& engine, const BenchArgs& a, const SamplingParams& p, std::mt19937_64& rng) {
  const int vocab = std::min(engine.vocab_size(), 32000);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  for (int b = 0; b < a.batch; ++b) {
    RequestInput in;
    for (int t = 0; t < a.prompt_len; ++t) in.prompt_token_ids.push_back(static_cast<int32_t>(rng() % vocab));
    auto id = engine.add_request(in, p);
    if (!id.ok()) throw CliError(id.status().message());
  }
  int first_tokens = 0;
  bool any_finished = false;
  Clock::time_point all_first = t0;
  BatchTimes r;
  while (engine.has_unfinished()) {
    auto step = engine.step();
    if (!step.ok()) throw CliError(step.status().message());
    const bool prefilling = first_tokens < a.batch;
    const bool full_batch = !prefilling && !any_finished;
    int64_t step_tokens = 0;
    for (const RequestOutput& o : *step) {
      step_tokens += static_cast<int64_t>(o.token_ids.size());
      any_finished = any_finished || o.finished;
      if (o.metrics.generated_tokens > 0 && o.metrics.generated_tokens == static_cast<int>(o.token_ids.size())) {
        ++first_tokens;
        r.ttft_sum += o.metrics.time_to_first_token;
        r.ttft_max = std::max(r.ttft_max, o.metrics.time_to_first_token);
        if (first_tokens == a.batch) all_first = Clock::now();
      }
    }
    r.generated += step_tokens;
    if (prefilling && first_tokens == a.batch) r.generated_before_decode = r.generated;
    if (full_batch) {
      r.full_batch_tokens += step_tokens;
      ++r.full_batch_steps;
      r.full_batch_s = std::chrono::duration<double>(Clock::now() - all_first).count();
    }
  }
  const auto t1 = Clock::now();
  r.prefill_s = std::chrono::duration<double>(all_first - t0).count();
  r.decode_s = std::chrono::duration<double>(t1 - all_first).count();
  r.total_s = std::chrono::duration<double>(t1 - t0).count();
  return r;
}

void run_bench(const BenchArgs& a) {
  if (a.prompt_len < 1 || a.gen_len < 1 || a.batch < 1) {
    throw CliError("--prompt-len, --gen-len and --batch must be >= 1");
  }
  if (a.warmup < 0) throw CliError("--warmup must be >= 0, got " + std::to_string(a.warmup));
  EngineOptions opt = a.engine.resolve();
  // --batch B means B sequences at once: the engine's limit (default 16) rises to B unless
  // --max-num-seqs was given, in which case a larger batch runs in waves and the note says so.
  if (!a.engine.max_num_seqs_given()) {
    opt.max_num_seqs = std::max(opt.max_num_seqs, a.batch);
  } else if (opt.max_num_seqs < a.batch) {
    std::fprintf(stderr, "swaa bench: --batch %d runs at most %d sequences at a time (--max-num-seqs %d)\n", a.batch,
                 opt.max_num_seqs, opt.max_num_seqs);
  }
  std::unique_ptr<Engine> engine = make_engine(opt);
  SamplingParams p = a.sampling;
  p.max_tokens = a.gen_len;
  p.ignore_eos = true;
  p.seed = a.seed;
  std::mt19937_64 rng(a.seed);
  for (int i = 0; i < a.warmup; ++i) {
    if (!a.json) std::fprintf(stderr, "swaa bench: warmup batch %d of %d\n", i + 1, a.warmup);
    run_batch(*engine, a, p, rng);
  }
  const BatchTimes t = run_batch(*engine, a, p, rng);
  const double prefill_s = t.prefill_s, decode_s = t.decode_s, ttft_sum = t.ttft_sum, ttft_max = t.ttft_max;
  const int64_t generated = t.generated;
  nlohmann::json r;
  r["model"] = opt.model_dir;
  r["swaa"] = describe(opt.swaa);
  r["device"] = opt.device;
  r["prompt_len"] = a.prompt_len;
  r["gen_len"] = a.gen_len;
  r["batch"] = a.batch;
  r["max_num_seqs"] = opt.max_num_seqs;
  r["temperature"] = p.temperature;
  r["top_p"] = p.top_p;
  r["top_k"] = p.top_k;
  r["min_p"] = p.min_p;
  r["repetition_penalty"] = p.repetition_penalty;
  r["presence_penalty"] = p.presence_penalty;
  r["frequency_penalty"] = p.frequency_penalty;
  r["logprobs"] = p.logprobs;
  r["warmup"] = a.warmup;
  r["prefill_tokens_per_second"] = prefill_s > 0 ? a.batch * static_cast<double>(a.prompt_len) / prefill_s : 0.0;
  r["decode_tokens_per_second"] = decode_s > 0 ? (generated - t.generated_before_decode) / decode_s : 0.0;
  r["decode_full_batch_tokens_per_second"] = t.full_batch_s > 0 ? t.full_batch_tokens / t.full_batch_s : 0.0;
  r["decode_full_batch_steps"] = t.full_batch_steps;
  r["time_to_first_token_mean_s"] = ttft_sum / a.batch;
  r["time_to_first_token_max_s"] = ttft_max;
  r["peak_kv_bytes"] = engine->kv_stats().peak_live_bytes;
  r["total_seconds"] = t.total_s;
  if (a.json) {
    std::printf("%s\n", r.dump().c_str());
    return;
  }
  std::printf("swaa bench: %s, %s, %s\n", opt.model_dir.c_str(), describe(opt.swaa).c_str(), opt.device.c_str());
  std::printf("  batch %d x (prompt %d + generate %d), at most %d at a time, %d warmup batch%s\n", a.batch, a.prompt_len,
              a.gen_len, opt.max_num_seqs, a.warmup, a.warmup == 1 ? "" : "es");
  if (p.temperature > 0) {
    std::printf("  sampled: temperature %g, top_p %g, top_k %d, min_p %g\n", p.temperature, p.top_p, p.top_k, p.min_p);
  }
  if (p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    std::printf("  penalties: repetition %g, presence %g, frequency %g\n", p.repetition_penalty, p.presence_penalty,
                p.frequency_penalty);
  }
  if (p.logprobs >= 0) std::printf("  logprobs: the token's and %d alternatives per token\n", p.logprobs);
  std::printf("  prefill      %10.1f tok/s\n", r["prefill_tokens_per_second"].get<double>());
  std::printf("  decode       %10.1f tok/s\n", r["decode_tokens_per_second"].get<double>());
  if (a.batch > 1) {
    std::printf("  full batch   %10.1f tok/s (%lld steps with all %d decoding)\n",
                r["decode_full_batch_tokens_per_second"].get<double>(), static_cast<long long>(t.full_batch_steps),
                a.batch);
  }
  std::printf("  TTFT mean    %10.3f s (max %.3f s)\n", ttft_sum / a.batch, ttft_max);
  std::printf("  peak KV      %10.2f MiB\n", engine->kv_stats().peak_live_bytes / 1048576.0);
}

}  // namespace

void register_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "prefill/decode throughput, TTFT and peak KV on random prompts");
  args->engine.add_to(*cmd);
  cmd->add_option("--prompt-len", args->prompt_len, "prompt tokens per request")->required();
  cmd->add_option("--gen-len", args->gen_len, "generated tokens per request")->required();
  cmd->add_option("--batch", args->batch, "requests at once");
  cmd->add_option("--seed", args->seed, "seed of the random prompts");
  cmd->add_option("--warmup", args->warmup, "untimed batches of the same shape before the measured one (default 0)");
  args->sampling.temperature = 0.0f;
  cmd->add_option("--temperature", args->sampling.temperature, "sampling temperature (default 0: greedy)");
  cmd->add_option("--top-p", args->sampling.top_p, "nucleus sampling mass (default 1)");
  cmd->add_option("--top-k", args->sampling.top_k, "sample among the k most likely tokens (default 0: all)");
  cmd->add_option("--min-p", args->sampling.min_p, "drop tokens below min_p x the most likely one (default 0)");
  cmd->add_option("--repetition-penalty", args->sampling.repetition_penalty,
                  "scale the logits of prompt and output tokens (> 1 discourages repeats; default 1)");
  cmd->add_option("--presence-penalty", args->sampling.presence_penalty,
                  "subtract from the logit of every token already generated (default 0)");
  cmd->add_option("--frequency-penalty", args->sampling.frequency_penalty,
                  "subtract this times its count from the logit of every generated token (default 0)");
  cmd->add_option("--logprobs", args->sampling.logprobs,
                  "every token also reports its log-probability and this many alternatives' (0-20; default -1: none)");
  cmd->add_flag("--json", args->json, "one JSON object on stdout");
  cmd->callback([args] { run_bench(*args); });
}

}  // namespace swaa::cli
