// Summaries, JSONL and markdown reports (see report.h).
#include "eval/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "attention/swaa_config_parse.h"
#include "eval/svg_plot.h"

namespace swaa::eval {
namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// "1,3,5" or, for a long arithmetic run, "1,3,..,47".
std::string compact_layers(const std::vector<int>& v) {
  std::string s;
  const bool run = v.size() >= 5 && std::adjacent_find(v.begin(), v.end() - 1, [&](int a, int b) {
                                      return b - a != v[1] - v[0];
                                    }) == v.end() - 1;
  if (run) return std::to_string(v[0]) + "," + std::to_string(v[1]) + ",..," + std::to_string(v.back());
  for (size_t i = 0; i < v.size(); ++i) s.append(i ? "," : "").append(std::to_string(v[i]));
  return s;
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f) return not_found("cannot write " + path);
  f << text;
  f.close();
  if (!f) return data_loss("error writing " + path);
  return {};
}

}  // namespace

std::string short_config(const SwaaConfig& c) {
  if (!c.sliding_window_size) return "full attention";
  std::string s = "W=" + format_tokens(*c.sliding_window_size);
  if (c.keep_first > 0) s += " S=" + std::to_string(c.keep_first);
  if (c.force_fa_decode_all) s += " FA-decode";
  if (!c.force_fa_decode_layers.empty()) s += " FA-decode[" + compact_layers(c.force_fa_decode_layers) + "]";
  if (!c.non_sliding_layers.empty()) s += " full-layers[" + compact_layers(c.non_sliding_layers) + "]";
  return s;
}

std::string format_tokens(int64_t n) {
  if (n >= 1024 && n % 512 == 0) {
    return n % 1024 == 0 ? std::to_string(n / 1024) + "k" : fixed(n / 1024.0, 1) + "k";
  }
  return std::to_string(n);
}

std::pair<std::string, int> paper_length_bin(int64_t t) {
  constexpr int64_t k = 1024;
  if (t < 16 * k) return {"0-16k", 0};
  if (t < 32 * k) return {"16-32k", 1};
  if (t < 64 * k) return {"32-64k", 2};
  if (t < 128 * k) return {"64-128k", 3};
  return {"128k+", 4};
}

SettingSummary summarize(const SettingOutcome& o) {
  SettingSummary s;
  s.name = o.setting.name;
  s.config = o.setting.config;
  s.num_samples = static_cast<int>(o.samples.size());
  s.wall_seconds = o.wall_seconds;
  s.prefill_seconds = o.prefill_seconds;
  s.decode_seconds = o.decode_seconds;
  s.prompt_tokens = o.prompt_tokens;
  s.generated_tokens = o.generated_tokens;
  s.peak_kv_bytes = o.peak_kv_bytes;
  std::vector<std::string> task_order;
  std::map<std::string, std::pair<double, int>> tasks;
  std::map<std::pair<int, std::string>, std::pair<double, int>> bins;
  double total = 0, ttft = 0;
  for (const SampleOutcome& x : o.samples) {
    const PreparedSample& p = *x.prepared;
    if (!tasks.count(p.sample.task)) task_order.push_back(p.sample.task);
    auto& t = tasks[p.sample.task];
    t.first += x.score;
    ++t.second;
    auto& b = bins[{p.length_bin_order, p.length_bin}];
    b.first += x.score;
    ++b.second;
    total += x.score;
    ttft += x.time_to_first_token;
  }
  if (s.num_samples > 0) {
    s.accuracy = 100.0 * total / s.num_samples;
    s.mean_time_to_first_token = ttft / s.num_samples;
  }
  for (const auto& name : task_order) {
    const auto& t = tasks[name];
    s.by_task.push_back({name, 100.0 * t.first / t.second, t.second});
  }
  for (const auto& [key, b] : bins) s.by_length.push_back({key.second, 100.0 * b.first / b.second, b.second});
  return s;
}

nlohmann::json summary_to_json(const SettingSummary& s, const ReportInfo& info) {
  nlohmann::json j;
  j["setting"] = s.name;
  j["swaa"] = swaa_config_to_json(s.config);
  j["model"] = info.model;
  j["prompting"] = info.prompting;
  j["num_samples"] = s.num_samples;
  j["accuracy"] = s.accuracy;
  j["accuracy_by_task"] = nlohmann::json::object();
  for (const auto& t : s.by_task) j["accuracy_by_task"][t.name] = {{"accuracy", t.accuracy}, {"count", t.count}};
  j["accuracy_by_length"] = nlohmann::json::object();
  for (const auto& b : s.by_length) j["accuracy_by_length"][b.name] = {{"accuracy", b.accuracy}, {"count", b.count}};
  j["prefill_seconds"] = s.prefill_seconds;
  j["decode_seconds"] = s.decode_seconds;
  j["wall_seconds"] = s.wall_seconds;
  j["mean_time_to_first_token_seconds"] = s.mean_time_to_first_token;
  j["prompt_tokens"] = s.prompt_tokens;
  j["generated_tokens"] = s.generated_tokens;
  j["peak_kv_bytes"] = s.peak_kv_bytes;
  return j;
}

std::vector<nlohmann::json> sample_lines(const SettingOutcome& o) {
  std::vector<nlohmann::json> out;
  for (const SampleOutcome& x : o.samples) {
    const EvalSample& s = x.prepared->sample;
    nlohmann::json j;
    j["setting"] = o.setting.name;
    j["id"] = s.id;
    j["task"] = s.task;
    j["length_bin"] = x.prepared->length_bin;
    j["prompt_tokens"] = x.prepared->prompt_ids.size();
    if (s.depth >= 0) j["depth"] = s.depth;
    j["metric"] = metric_name(s.metric);
    j["score"] = x.score;
    j["answer"] = x.answer;
    j["references"] = s.answers;
    j["generated_tokens"] = x.generated_tokens;
    j["finish_reason"] = finish_reason_name(x.finish_reason);
    if (x.answer != x.output) j["output"] = x.output;
    out.push_back(std::move(j));
  }
  return out;
}

std::string markdown_report(const std::vector<SettingSummary>& summaries, const ReportInfo& info) {
  std::string md = "# swaa eval\n\n";
  md += "- model: `" + info.model + "`\n- questions: " + info.questions + "\n- prompting: " + info.prompting + "\n";
  if (info.total_seconds > 0) md += "- total time: " + fixed(info.total_seconds, 1) + " s\n";
  md += "\n";
  if (summaries.empty()) return md;
  // Columns: every task and length bin seen in any configuration, in first-seen order.
  std::vector<std::string> tasks, bins;
  for (const auto& s : summaries) {
    for (const auto& t : s.by_task) {
      if (std::find(tasks.begin(), tasks.end(), t.name) == tasks.end()) tasks.push_back(t.name);
    }
    for (const auto& b : s.by_length) {
      if (std::find(bins.begin(), bins.end(), b.name) == bins.end()) bins.push_back(b.name);
    }
  }
  auto find = [](const std::vector<GroupScore>& v, const std::string& name) -> std::string {
    for (const auto& g : v) {
      if (g.name == name) return fixed(g.accuracy, 1);
    }
    return "";
  };
  md += "| setting | SWAA | accuracy % |";
  std::string rule = "|---|---|---:|";
  for (const auto& t : tasks) md += " " + t + " |", rule += "---:|";
  for (const auto& b : bins) md += " " + b + " |", rule += "---:|";
  md += " prefill s | decode s | generated tokens | peak KV MiB |\n";
  rule += "---:|---:|---:|---:|\n";
  md += rule;
  for (const auto& s : summaries) {
    md += "| " + s.name + " | " + short_config(s.config) + " | **" + fixed(s.accuracy, 1) + "** |";
    for (const auto& t : tasks) md.append(" ").append(find(s.by_task, t)).append(" |");
    for (const auto& b : bins) md.append(" ").append(find(s.by_length, b)).append(" |");
    md.append(" ").append(fixed(s.prefill_seconds, 2)).append(" | ").append(fixed(s.decode_seconds, 2));
    md.append(" | ").append(std::to_string(s.generated_tokens)).append(" | ");
    md.append(fixed(s.peak_kv_bytes / 1048576.0, 1)).append(" |\n");
  }
  md += "\nAccuracy in percent (mean sample score x 100; " + std::to_string(summaries[0].num_samples) +
        " samples per setting). Task and length columns are accuracies of that group. Prefill and decode: wall "
        "time of the engine steps, split in proportion to the prompt and generated tokens each step computed. "
        "W counts the current token (use W+1 to match the paper's vLLM numbers).\n\n"
        "![accuracy vs time](accuracy_vs_time.svg)\n";
  return md;
}

Result<ReportFiles> write_report(const std::string& dir, const std::vector<SettingOutcome>& outcomes,
                                 const std::vector<SettingSummary>& summaries, const ReportInfo& info,
                                 const std::vector<PreparedSample>* prompts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return not_found("--output " + dir + ": cannot create the directory (" + ec.message() + ")");
  ReportFiles f{dir + "/results.jsonl", dir + "/samples.jsonl", dir + "/results.md", dir + "/accuracy_vs_time.svg", ""};
  std::string results, samples;
  for (const auto& s : summaries) results += summary_to_json(s, info).dump() + "\n";
  for (const auto& o : outcomes) {
    for (const auto& j : sample_lines(o)) samples += j.dump() + "\n";
  }
  SWAA_RETURN_IF_ERROR(write_text(f.results_jsonl, results));
  SWAA_RETURN_IF_ERROR(write_text(f.samples_jsonl, samples));
  SWAA_RETURN_IF_ERROR(write_text(f.markdown, markdown_report(summaries, info)));
  SWAA_RETURN_IF_ERROR(write_text(f.svg, accuracy_time_svg(summaries, info)));
  if (prompts != nullptr) {
    f.prompts_jsonl = dir + "/prompts.jsonl";
    std::string text;
    for (const PreparedSample& p : *prompts) {
      nlohmann::json j = {{"id", p.sample.id},
                          {"task", p.sample.task},
                          {"prompt_tokens", p.prompt_ids.size()},
                          {"user", p.sample.user_text},
                          {"answer_prefix", p.sample.answer_prefix},
                          {"references", p.sample.answers}};
      text += j.dump() + "\n";
    }
    SWAA_RETURN_IF_ERROR(write_text(f.prompts_jsonl, text));
  }
  return f;
}

}  // namespace swaa::eval
