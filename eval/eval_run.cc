// The eval pipeline: questions -> prompts -> one run per configuration -> reports (see eval_run.h).
#include "eval/eval_run.h"

#include <chrono>

#include "core/progress.h"
#include "eval/dataset.h"
#include "eval/prompt_format.h"

namespace swaa::eval {
namespace {

int resolve_max_tokens(const EvalPlan& plan, const EvalSample& s) {
  if (plan.max_tokens > 0) return plan.max_tokens;
  if (plan.enable_thinking.value_or(false)) return kThinkingMaxTokens;
  return s.max_tokens > 0 ? s.max_tokens : kDatasetMaxTokens;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

ReportInfo make_info(const EvalPlan& plan, const PromptFormat& format, const std::vector<std::string>& tasks) {
  ReportInfo info;
  info.model = plan.engine.model_dir;
  if (plan.dataset.empty()) {
    std::vector<std::string> lens;
    for (int l : plan.lengths) lens.push_back(format_tokens(l));
    const std::string which = tasks == task_names() ? "all 9 tasks" : "tasks " + join(tasks, ", ");
    info.questions = which + " x lengths " + join(lens, ", ") +
                     " x " + std::to_string(plan.samples) + (plan.samples == 1 ? " sample" : " samples") + ", seed " + std::to_string(plan.seed);
  } else {
    info.questions = "dataset " + plan.dataset;
  }
  info.prompting = format.chat() ? "chat template" : "raw text";
  if (format.chat() && format.enable_thinking()) info.prompting += *format.enable_thinking() ? ", thinking on" : ", thinking off";
  info.prompting += ", greedy";
  return info;
}

}  // namespace

Result<std::vector<PreparedSample>> prepare_samples(const EvalPlan& plan, const PromptFormat& format) {
  std::vector<PreparedSample> out;
  if (!plan.dataset.empty()) {
    DatasetOptions d;
    d.default_metric = plan.dataset_metric;
    d.limit = plan.limit;
    SWAA_ASSIGN_OR_RETURN(std::vector<EvalSample> samples, load_jsonl_dataset(plan.dataset, d));
    ProgressReporter progress("tokenizing", "questions", static_cast<long>(samples.size()));
    for (EvalSample& s : samples) {
      PreparedSample p;
      SWAA_ASSIGN_OR_RETURN(p.prompt_ids, format.encode(s));
      auto [bin, order] = paper_length_bin(static_cast<int64_t>(p.prompt_ids.size()));
      p.length_bin = bin;
      p.length_bin_order = order;
      p.max_tokens = resolve_max_tokens(plan, s);
      p.sample = std::move(s);
      out.push_back(std::move(p));
      if (plan.progress) progress.update(static_cast<long>(out.size()));
    }
    return out;
  }
  const std::vector<std::string> tasks = plan.tasks.empty() ? task_names() : plan.tasks;
  SWAA_RETURN_IF_ERROR(check_task_names(tasks));
  if (plan.lengths.empty()) return invalid_argument("--lengths: give at least one prompt length");
  for (int l : plan.lengths) {
    if (l < 1) return invalid_argument("--lengths: " + std::to_string(l) + " is not a positive token count");
  }
  if (plan.samples < 1) return invalid_argument("--samples must be >= 1, got " + std::to_string(plan.samples));
  std::optional<Haystack> file;
  if (!plan.haystack_file.empty()) {
    SWAA_ASSIGN_OR_RETURN(Haystack h, Haystack::from_file(plan.haystack_file));
    file = std::move(h);
  }
  TaskContext ctx{&format, plan.haystack, file ? &*file : nullptr};
  ProgressReporter progress("generating tasks", "samples",
                            static_cast<long>(tasks.size() * plan.lengths.size() * plan.samples));
  for (int length : plan.lengths) {
    for (const auto& t : tasks) {
      for (int i = 0; i < plan.samples; ++i) {
        SWAA_ASSIGN_OR_RETURN(EvalSample s, generate_task({t, length, i, plan.samples, plan.seed}, ctx));
        PreparedSample p;
        SWAA_ASSIGN_OR_RETURN(p.prompt_ids, format.encode(s));
        p.length_bin = format_tokens(length);
        p.length_bin_order = length;
        p.max_tokens = resolve_max_tokens(plan, s);
        p.sample = std::move(s);
        out.push_back(std::move(p));
        if (plan.progress) progress.update(static_cast<long>(out.size()));
      }
    }
  }
  return out;
}

Result<EvalResult> run_eval(const EvalPlan& plan) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  if (plan.settings.empty()) return invalid_argument("no SWAA settings to evaluate");
  auto tok = Tokenizer::from_dir(plan.engine.model_dir);
  if (!tok.ok()) return tok.status().with_context("swaa eval needs the model's tokenizer");
  const PromptFormat format(std::move(tok).value(), plan.use_chat, plan.enable_thinking);
  EvalResult r;
  // The outcomes point into r.samples; moving r keeps the vector's buffer, so they stay valid.
  SWAA_ASSIGN_OR_RETURN(r.samples, prepare_samples(plan, format));
  const std::vector<PreparedSample>& samples = r.samples;
  r.info = make_info(plan, format, plan.tasks.empty() ? task_names() : plan.tasks);
  RunOptions ro;
  ro.engine = plan.engine;
  ro.thinking = format.chat() && plan.enable_thinking.value_or(false);
  ro.progress = plan.progress;
  for (const EvalSetting& setting : plan.settings) {
    SWAA_ASSIGN_OR_RETURN(SettingOutcome o, run_setting(setting, samples, ro));
    r.summaries.push_back(summarize(o));
    const SettingSummary& s = r.summaries.back();
    if (plan.progress) {
      std::fprintf(stderr, "swaa eval: %-24s accuracy %5.1f%%  prefill %.2f s  decode %.2f s  (%s)\n", s.name.c_str(),
                   s.accuracy, s.prefill_seconds, s.decode_seconds, short_config(s.config).c_str());
    }
    r.outcomes.push_back(std::move(o));
  }
  r.info.total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.markdown = markdown_report(r.summaries, r.info);
  if (!plan.output_dir.empty()) {
    SWAA_ASSIGN_OR_RETURN(r.files, write_report(plan.output_dir, r.outcomes, r.summaries, r.info,
                                                  plan.save_prompts ? &r.samples : nullptr));
  }
  return r;
}

}  // namespace swaa::eval
