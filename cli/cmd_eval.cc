// `swaa eval`: long-context accuracy and time of each SWAA configuration of a settings list, on
// synthetic RULER-style tasks or a JSONL dataset. Flags only; the pipeline is eval/eval_run.h.
// Writes results.jsonl, samples.jsonl, results.md and accuracy_vs_time.svg; prints the table.
// Tests: tests/unit/eval/eval_e2e_test.cc (library and this command).
#include <charconv>
#include <cstdio>

#include "commands.h"
#include "engine_flags.h"
#include "eval/eval_run.h"
#include "eval/report.h"

namespace swaa::cli {
namespace {

struct EvalArgs {
  EngineFlags engine;
  std::string tasks, dataset, settings, lengths = "1024,2048,4096", output = "eval-results";
  std::string haystack = "default", haystack_file, metric = "substring_all";
  int samples = 5, max_tokens = 0;
  size_t limit = 0;
  uint64_t seed = 0;
  bool think = false, no_think = false, raw = false, quiet = false, save_prompts = false;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// "4096", "4k" (= 4096), "1.5k".
int parse_length(const std::string& s) {
  const bool k = !s.empty() && (s.back() == 'k' || s.back() == 'K');
  const std::string digits = k ? s.substr(0, s.size() - 1) : s;
  double v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || !(v > 0)) {
    throw CliError("--lengths: '" + s + "' is not a token count (e.g. 4096 or 4k)");
  }
  return static_cast<int>(k ? v * 1024 : v);
}

void run_eval_command(const EvalArgs& a) {
  eval::EvalPlan plan;
  plan.engine = a.engine.resolve();
  const SwaaFlags& f = a.engine.swaa;
  if (!a.settings.empty()) {
    if (!f.config_file.empty() || !f.window.empty() || !f.keep_first.empty() || !f.force_fa_decode.empty() ||
        !f.non_sliding_layers.empty()) {
      throw CliError("give either --settings FILE.json or the SWAA flags, not both");
    }
    auto s = eval::load_settings(a.settings);
    if (!s.ok()) throw CliError(s.status().message());
    plan.settings = std::move(s).value();
  } else {
    plan.settings = {{eval::short_config(plan.engine.swaa), plan.engine.swaa}};
  }
  if (!a.dataset.empty() && !a.tasks.empty()) throw CliError("give either --tasks or --dataset, not both");
  plan.tasks = split_list(a.tasks);
  plan.lengths.clear();
  for (const auto& l : split_list(a.lengths)) plan.lengths.push_back(parse_length(l));
  plan.samples = a.samples;
  plan.seed = a.seed;
  if (a.haystack == "noise") plan.haystack = eval::HaystackChoice::kNoise;
  else if (a.haystack == "essay") plan.haystack = eval::HaystackChoice::kEssay;
  else if (a.haystack != "default") throw CliError("--haystack must be default, noise or essay, got '" + a.haystack + "'");
  plan.haystack_file = a.haystack_file;
  plan.dataset = a.dataset;
  if (!eval::parse_metric(a.metric, &plan.dataset_metric)) {
    throw CliError("--metric must be substring_all, substring_part, choice or exact, got '" + a.metric + "'");
  }
  plan.limit = a.limit;
  if (a.think && a.no_think) throw CliError("give --think or --no-think, not both");
  if (a.think) plan.enable_thinking = true;
  if (a.no_think) plan.enable_thinking = false;
  plan.use_chat = !a.raw;
  if (a.max_tokens < 0) throw CliError("--max-tokens must be >= 1, got " + std::to_string(a.max_tokens));
  plan.max_tokens = a.max_tokens;
  plan.output_dir = a.output;
  plan.save_prompts = a.save_prompts;
  plan.progress = !a.quiet;
  auto r = eval::run_eval(plan);
  if (!r.ok()) throw CliError(r.status().message());
  std::printf("%s", r->markdown.c_str());
  if (!a.quiet) {
    std::fprintf(stderr, "swaa eval: %zu settings x %zu questions in %.1f s; wrote %s, %s, %s, %s%s%s\n",
                 r->summaries.size(), r->samples.size(), r->info.total_seconds, r->files.results_jsonl.c_str(),
                 r->files.samples_jsonl.c_str(), r->files.markdown.c_str(), r->files.svg.c_str(),
                 r->files.prompts_jsonl.empty() ? "" : ", ", r->files.prompts_jsonl.c_str());
  }
}

}  // namespace

void register_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "long-context accuracy and time of SWAA configurations (RULER-style tasks or a JSONL dataset)");
  a->engine.add_to(*cmd);
  cmd->add_option("--tasks", a->tasks, "comma list of niah_single, niah_multikey, niah_multivalue, niah_multiquery, vt, cwe, fwe, passkey, babi (default all)");
  cmd->add_option("--dataset", a->dataset, "JSONL file with prompt, answer[, context, question, question_type, metric]");
  cmd->add_option("--settings", a->settings, "JSON list of named SWAA configurations (default: the SWAA flags)");
  cmd->add_option("--lengths", a->lengths, "prompt lengths in the model's tokens, e.g. 1k,2k,4k (default 1024,2048,4096)");
  cmd->add_option("--samples", a->samples, "samples per task and length (needle depths sweep over them; default 5)");
  cmd->add_option("--seed", a->seed, "seed of the generated tasks (default 0)");
  cmd->add_flag("--think", a->think, "chat templates with a thinking switch: thinking on (answer = text after </think>)");
  cmd->add_flag("--no-think", a->no_think, "chat templates with a thinking switch: thinking off");
  cmd->add_flag("--raw", a->raw, "raw text prompts with answer prefixes, even when the model has a chat template");
  cmd->add_option("-n,--max-tokens", a->max_tokens, "generated tokens at most (default: per task; 2000 datasets; 10000 thinking)");
  cmd->add_option("--haystack", a->haystack, "filler text: default (per task), noise or essay");
  cmd->add_option("--haystack-file", a->haystack_file, "your own filler text (UTF-8), cycled as needed");
  cmd->add_option("--metric", a->metric, "dataset scoring: substring_all, substring_part, choice, exact");
  cmd->add_option("--limit", a->limit, "first N dataset questions only");
  cmd->add_option("-o,--output", a->output, "directory for results.jsonl, samples.jsonl, results.md, accuracy_vs_time.svg");
  cmd->add_flag("--save-prompts", a->save_prompts, "also write prompts.jsonl with every question's text");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress on stderr");
  cmd->callback([a] { run_eval_command(*a); });
}

}  // namespace swaa::cli
