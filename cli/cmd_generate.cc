// `swaa generate`: one prompt (text, file or chat messages) -> streamed completion on stdout.
// Prefill progress and a timing summary go to stderr; Ctrl-C stops cleanly (exit 130).
#include <cstdio>

#include "commands.h"
#include "core/progress.h"
#include "engine_flags.h"
#include "stream_printer.h"

namespace swaa::cli {
namespace {

struct GenerateArgs {
  EngineFlags engine;
  SamplingFlags sampling;
  PromptFlags prompt;
  bool quiet = false;
};

void run_generate(const GenerateArgs& a) {
  interrupt::install();  // before loading, so a Ctrl-C during the load stops cleanly too
  const RequestInput input = a.prompt.resolve();
  const SamplingParams params = a.sampling.resolve();
  std::unique_ptr<Engine> engine = make_engine(a.engine.resolve());
  auto id = engine->add_request(input, params);
  if (!id.ok()) throw CliError(id.status().message());
  StreamPrinter out;
  std::unique_ptr<ProgressReporter> progress;
  RequestMetrics metrics;
  FinishReason reason = FinishReason::kNone;
  while (engine->has_unfinished()) {
    if (interrupt::requested()) engine->abort(*id);
    auto step = engine->step();
    if (!step.ok()) throw CliError(step.status().message());
    for (const RequestOutput& o : *step) {
      metrics = o.metrics;
      if (o.metrics.generated_tokens == 0 && !o.finished) {
        if (!progress) progress = std::make_unique<ProgressReporter>("prefill", "tokens", o.metrics.prompt_tokens);
        progress->update(o.metrics.computed_prompt_tokens);
        continue;
      }
      if (progress) progress->finish();
      out.print(o.text);
      if (o.finished) reason = o.finish_reason;
    }
  }
  out.finish();
  if (!a.quiet) {
    const double decode_rate = metrics.decode_seconds > 0 ? (metrics.generated_tokens - 1) / metrics.decode_seconds : 0;
    std::fprintf(stderr,
                 "swaa generate: %d prompt tokens, %d generated (%s); time to first token %.2f s "
                 "(prefill %.1f tok/s), decode %.1f tok/s; peak KV %.1f MiB\n",
                 metrics.prompt_tokens, metrics.generated_tokens, finish_reason_name(reason),
                 metrics.time_to_first_token,
                 metrics.prefill_seconds > 0 ? metrics.prompt_tokens / metrics.prefill_seconds : 0.0, decode_rate,
                 engine->kv_stats().peak_live_bytes / 1048576.0);
  }
  if (reason == FinishReason::kAbort) throw CliError("interrupted");
}

}  // namespace

void register_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "generate a completion for one prompt, streamed to stdout");
  args->engine.add_to(*cmd);
  args->sampling.add_to(*cmd);
  args->prompt.add_to(*cmd);
  cmd->add_flag("-q,--quiet", args->quiet, "no timing summary on stderr");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace swaa::cli
