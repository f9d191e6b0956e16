// run_eval: the whole `swaa eval` pipeline as a library call: build the questions (synthetic tasks
// at each length, or a JSONL dataset), render and tokenize them once with the model's chat
// template, run every SWAA configuration of the settings list, score, and write the reports.
// The CLI (cli/cmd_eval.cc) only parses flags into an EvalPlan. Tests: tests/unit/eval/eval_e2e_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/eval_sample.h"
#include "eval/report.h"
#include "eval/runner.h"
#include "eval/settings.h"
#include "eval/synthetic_tasks.h"

namespace swaa::eval {

// Generation budgets when --max-tokens is not given: the paper's 10000 for thinking models and
// 2000 for datasets otherwise; synthetic tasks use RULER's per-task budgets (32-128).
inline constexpr int kThinkingMaxTokens = 10000;
inline constexpr int kDatasetMaxTokens = 2000;

struct EvalPlan {
  EngineOptions engine;              // model_dir and engine sizing; swaa comes from `settings`
  std::vector<EvalSetting> settings; // at least one
  // Synthetic tasks (used when `dataset` is empty).
  std::vector<std::string> tasks;    // empty = all
  std::vector<int> lengths = {1024, 2048, 4096};
  int samples = 5;                   // per task and length
  uint64_t seed = 0;
  HaystackChoice haystack = HaystackChoice::kDefault;
  std::string haystack_file;
  // A JSONL dataset instead of the synthetic tasks.
  std::string dataset;
  Metric dataset_metric = Metric::kSubstringAll;
  size_t limit = 0;                  // first N dataset questions (0 = all)
  // Prompting and generation.
  bool use_chat = true;              // the model's chat template when it has one
  std::optional<bool> enable_thinking;
  int max_tokens = 0;                // 0 = the defaults above
  std::string output_dir = "eval-results";
  bool save_prompts = false;         // also write prompts.jsonl (every question's text)
  bool progress = true;
};

struct EvalResult {
  std::vector<PreparedSample> samples;  std::vector<SettingOutcome> outcomes;
  std::vector<SettingSummary> summaries;
  ReportInfo info;
  ReportFiles files;
  std::string markdown;
};

// Questions rendered and tokenized for `format` (no model weights needed).
Result<std::vector<PreparedSample>> prepare_samples(const EvalPlan& plan, const PromptFormat& format);

// Runs everything and writes the reports into plan.output_dir (empty: no files).
Result<EvalResult> run_eval(const EvalPlan& plan);

}  // namespace swaa::eval
