// Reports of an evaluation: per-configuration summaries (accuracy overall, by task, by length bin;
// prefill/decode time; tokens), written as results JSONL (one line per configuration), a markdown
// table, per-sample JSONL, and the accuracy-versus-time SVG (svg_plot.h).
// Tests: tests/unit/eval/report_test.cc, tests/unit/eval/eval_e2e_test.cc.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "eval/runner.h"

namespace swaa::eval {

struct GroupScore {
  std::string name;
  double accuracy = 0;  // percent
  int count = 0;
};

struct SettingSummary {
  std::string name;
  SwaaConfig config;
  int num_samples = 0;
  double accuracy = 0;               // percent, mean sample score x 100
  std::vector<GroupScore> by_task;   // in first-seen order of the samples
  std::vector<GroupScore> by_length; // by bin order
  double wall_seconds = 0, prefill_seconds = 0, decode_seconds = 0;
  int64_t prompt_tokens = 0, generated_tokens = 0, peak_kv_bytes = 0;
  double mean_time_to_first_token = 0;
};

SettingSummary summarize(const SettingOutcome& outcome);

// "full attention", or e.g. "W=2k S=100 FA-decode full-layers[1,3,..,47]".
std::string short_config(const SwaaConfig& config);
// "1k" for 1024, "1.5k" for 1536, "300" for 300.
std::string format_tokens(int64_t n);
// The paper's prompt-length bins: 0-16k, 16-32k, 32-64k, 64-128k, 128k+ (k = 1024 tokens).
std::pair<std::string, int> paper_length_bin(int64_t prompt_tokens);

struct ReportInfo {
  std::string model;        // model directory or name
  std::string questions;    // "tasks niah_single,vt x lengths 1k,2k x 2 samples, seed 0" or the dataset
  std::string prompting;    // "chat template, thinking off"
  double total_seconds = 0; // whole run, generation of the tasks included
};

nlohmann::json summary_to_json(const SettingSummary& s, const ReportInfo& info);
// One JSON object per sample: setting, id, task, bin, prompt/generated tokens, score, answer, references.
std::vector<nlohmann::json> sample_lines(const SettingOutcome& outcome);
// Header, the main table (configuration, accuracy, per task, per length, times, tokens), footnotes.
std::string markdown_report(const std::vector<SettingSummary>& summaries, const ReportInfo& info);

struct ReportFiles {
  std::string results_jsonl, samples_jsonl, markdown, svg;
  std::string prompts_jsonl;  // only when prompts were given
};
// Writes results.jsonl, samples.jsonl, results.md and accuracy_vs_time.svg into `dir` (created),
// and prompts.jsonl (id, task, the user message, the answer prefix, references) when `prompts`
// is not null.
Result<ReportFiles> write_report(const std::string& dir, const std::vector<SettingOutcome>& outcomes,
                                 const std::vector<SettingSummary>& summaries, const ReportInfo& info,
                                 const std::vector<PreparedSample>* prompts = nullptr);

}  // namespace swaa::eval
