// Engine, sampling and prompt flags; SIGINT handling for clean stops.
#include "engine_flags.h"

#include <atomic>
#include <csignal>
#include <unistd.h>

#include "commands.h"
#include "core/json_util.h"
#include "sampling/sampler.h"

namespace swaa::cli {

void EngineFlags::add_to(CLI::App& cmd) {
  cmd.add_option("-m,--model", model, "checkpoint directory or embedded model name (default swaa-tiny)");
  cmd.add_option("--device", device, "cpu | cuda");
  cmd.add_option("--threads", threads, "CPU threads (0 = all cores)");
  cmd.add_option("--block-size", block_size, "KV cache block size in tokens");
  cmd.add_option("--kv-cache-gib", kv_cache_gib, "KV cache capacity in GiB");
  max_num_seqs_option = cmd.add_option("--max-num-seqs", max_num_seqs, "sequences batched at once");
  cmd.add_option("--max-num-batched-tokens", max_num_batched_tokens, "tokens per step (also the prefill chunk)");
  cmd.add_option("--max-model-len", max_model_len, "prompt + generation limit (0 = the model's)");
  swaa.add_to(cmd);
}

EngineOptions EngineFlags::resolve() const {
  EngineOptions o;
  o.model_dir = resolve_model_dir(model);
  o.swaa = swaa.resolve();
  o.device = device;
  o.num_threads = threads;
  o.block_size = block_size;
  if (!(kv_cache_gib > 0)) throw CliError("--kv-cache-gib must be positive, got " + std::to_string(kv_cache_gib));
  o.kv_cache_bytes = static_cast<int64_t>(kv_cache_gib * (1LL << 30));
  o.max_num_seqs = max_num_seqs;
  o.max_num_batched_tokens = max_num_batched_tokens;
  o.max_model_len = max_model_len;
  return o;
}

void SamplingFlags::add_to(CLI::App& cmd) {
  cmd.add_option("-n,--max-tokens", max_tokens, "generated tokens at most");
  cmd.add_option("--temperature", temperature, "0 = greedy");
  cmd.add_option("--top-p", top_p, "nucleus sampling mass");
  cmd.add_option("--top-k", top_k, "keep the k most likely tokens (0 = all)");
  cmd.add_option("--min-p", min_p, "drop tokens below min_p x the most likely");
  cmd.add_option("--repetition-penalty", repetition_penalty, "> 1 discourages repeats");
  cmd.add_option("--presence-penalty", presence_penalty, "");
  cmd.add_option("--frequency-penalty", frequency_penalty, "");
  cmd.add_option("--seed", seed, "sampling seed (reproducible output)");
  cmd.add_option("--stop", stop, "stop string (repeatable)");
  cmd.add_flag("--ignore-eos", ignore_eos, "keep generating past end-of-sequence tokens");
}

SamplingParams SamplingFlags::resolve() const {
  SamplingParams p;
  p.max_tokens = max_tokens;
  p.temperature = temperature;
  p.top_p = top_p;
  p.top_k = top_k;
  p.min_p = min_p;
  p.repetition_penalty = repetition_penalty;
  p.presence_penalty = presence_penalty;
  p.frequency_penalty = frequency_penalty;
  if (seed >= 0) p.seed = static_cast<uint64_t>(seed);
  p.stop = stop;
  p.ignore_eos = ignore_eos;
  Status st = validate(p);
  if (!st.ok()) throw CliError(st.message());
  return p;
}

void PromptFlags::add_to(CLI::App& cmd) {
  cmd.add_option("-p,--prompt", prompt, "prompt text");
  cmd.add_option("-f,--file", file, "read the prompt from a file");
  cmd.add_option("--messages", messages_file, "JSON file with a list of {role, content} messages");
  cmd.add_flag("--chat", chat, "apply the model's chat template to the prompt");
  cmd.add_flag("--no-think", no_think, "chat templates with a thinking switch: thinking off");
}

RequestInput PromptFlags::resolve() const {
  RequestInput in;
  const int given = !prompt.empty() + !file.empty() + !messages_file.empty();
  if (given != 1) throw CliError("give exactly one of -p TEXT, -f FILE or --messages FILE.json");
  if (!file.empty()) {
    auto t = read_file(file);
    if (!t.ok()) throw CliError(t.status().message());
    in.prompt = std::move(t).value();
  } else {
    in.prompt = prompt;
  }
  if (!messages_file.empty()) {
    auto m = read_json_file(messages_file);
    if (!m.ok()) throw CliError(m.status().message());
    if (!m->is_array()) throw CliError(messages_file + ": expected a JSON array of {\"role\", \"content\"} messages");
    in.messages_json = m->dump();
  }
  in.chat = chat;
  if (no_think) {
    if (!chat && messages_file.empty()) throw CliError("--no-think needs --chat or --messages");
    in.enable_thinking = false;
  }
  return in;
}

std::unique_ptr<Engine> make_engine(const EngineOptions& options) {
  auto e = Engine::create(options);
  if (!e.ok()) throw CliError(e.status().message());
  return std::move(e).value();
}

namespace interrupt {
namespace {
std::atomic<bool> flag{false};
void on_sigint(int) {
  if (flag.load()) _exit(130);
  flag.store(true);
}
}  // namespace
void install() { std::signal(SIGINT, on_sigint); }
bool requested() { return flag.load(); }
void clear() { flag.store(false); }
}  // namespace interrupt

}  // namespace swaa::cli
