// `swaa score`: log-probabilities of a token sequence under a SWAA configuration
// (DESIGN.md §3). stdout: {"logprobs": [...]} (T-1 values); --json adds timings and KV stats.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "core/json_util.h"
#include "core/progress.h"
#include "swaa/score.h"
#include "swaa_flags.h"

namespace swaa::cli {
namespace {

struct ScoreArgs {
  std::string model, tokens_file;
  int prompt_tokens = -1;
  int prefill_chunk = 0;
  int threads = 0;
  std::string device = "cpu";
  int block_size = 16;
  bool json = false;
  SwaaFlags swaa;
};

std::vector<int32_t> read_tokens(const std::string& path) {
  auto j = read_json_file(path);
  if (!j.ok()) throw CliError(j.status().message());
  if (!j->is_array()) throw CliError(path + ": expected a JSON array of token ids, got " + json_snippet(*j));
  std::vector<int32_t> ids;
  for (size_t i = 0; i < j->size(); ++i) {
    const auto& v = (*j)[i];
    if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
      throw CliError(path + ": element " + std::to_string(i) + " is " + json_snippet(v) + ", expected a token id");
    }
    ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
  }
  return ids;
}

void run_score(const ScoreArgs& a) {
  ScoreOptions opt;
  opt.model_dir = resolve_model_dir(a.model);
  opt.swaa = a.swaa.resolve();
  const std::vector<int32_t> tokens = read_tokens(a.tokens_file);
  opt.prompt_tokens = a.prompt_tokens;
  opt.prefill_chunk = a.prefill_chunk;
  opt.num_threads = a.threads;
  opt.device = a.device;
  opt.block_size = a.block_size;
  auto progress = std::make_unique<ProgressReporter>("score", "tokens", static_cast<long>(tokens.size()));
  opt.progress = [&](int done, int) { progress->update(done); };
  Result<ScoreResult> r = score_tokens(opt, tokens);
  progress->finish();
  if (!r.ok()) throw CliError(r.status().message());
  nlohmann::json out;
  out["logprobs"] = r->logprobs;
  const int decode_tokens = static_cast<int>(tokens.size()) - opt.prompt_tokens;
  if (a.json) {
    out["prompt_tokens"] = opt.prompt_tokens;
    out["swaa"] = describe(opt.swaa);
    out["load_seconds"] = r->load_seconds;
    out["prefill_seconds"] = r->prefill_seconds;
    out["decode_seconds"] = r->decode_seconds;
    out["prefill_tokens_per_second"] = r->prefill_seconds > 0 ? opt.prompt_tokens / r->prefill_seconds : 0.0;
    out["decode_tokens_per_second"] = r->decode_seconds > 0 ? decode_tokens / r->decode_seconds : 0.0;
    out["peak_kv_bytes"] = r->peak_kv_bytes;
  }
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);  // the result precedes the stderr summary when both go to one stream
  if (!a.json) {
    double sum = 0;
    for (double lp : r->logprobs) sum += lp;
    std::fprintf(stderr,
                 "swaa score: %zu tokens (prompt %d) under %s: mean logprob %.4f (ppl %.2f); prefill %.1f tok/s, "
                 "decode %.1f tok/s; peak KV %.2f MiB\n",
                 tokens.size(), opt.prompt_tokens, describe(opt.swaa).c_str(), sum / r->logprobs.size(),
                 std::exp(-sum / r->logprobs.size()),
                 r->prefill_seconds > 0 ? opt.prompt_tokens / r->prefill_seconds : 0.0,
                 r->decode_seconds > 0 ? decode_tokens / r->decode_seconds : 0.0, r->peak_kv_bytes / 1048576.0);
  }
}

}  // namespace

void register_score(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  CLI::App* cmd = app.add_subcommand("score", "log-probabilities of a token sequence (prompt prefill + decode steps)");
  cmd->add_option("-m,--model", args->model, "checkpoint directory or embedded model name")->required();
  cmd->add_option("--tokens-file", args->tokens_file, "JSON array of token ids")->required();
  cmd->add_option("--prompt-tokens", args->prompt_tokens, "P: the first P tokens are the prompt")->required();
  cmd->add_option("--prefill-chunk", args->prefill_chunk, "prefill the prompt in chunks of N tokens (0 = one chunk)");
  cmd->add_option("--threads", args->threads, "CPU threads (0 = all cores)");
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N");
  cmd->add_option("--block-size", args->block_size, "KV cache block size in tokens");
  cmd->add_flag("--json", args->json, "add timings and KV statistics to the JSON output");
  args->swaa.add_to(*cmd);
  cmd->callback([args] { run_score(*args); });
}

}  // namespace swaa::cli
