// Reports: summaries by task and length bin, JSONL fields, the markdown table, the SVG chart
// (axes, labels, one marker and legend entry per configuration, escaped names), tick choice.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval/report.h"
#include "eval/svg_plot.h"

namespace swaa::eval {
namespace {

int count(const std::string& s, const std::string& sub) {
  int n = 0;
  for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + 1)) ++n;
  return n;
}

std::vector<SettingSummary> two_summaries() {
  SettingSummary a;
  a.name = "full";
  a.accuracy = 75;
  a.prefill_seconds = 3;
  a.decode_seconds = 1;
  a.num_samples = 4;
  a.by_task = {{"niah_single", 100, 2}, {"vt", 50, 2}};
  a.by_length = {{"1k", 100, 2}, {"2k", 50, 2}};
  SettingSummary b = a;
  b.name = "swa <2k> & sinks";
  b.config.sliding_window_size = 2048;
  b.config.keep_first = 100;
  b.config.non_sliding_layers = {1, 3, 5, 7, 9, 11};
  b.accuracy = 25;
  b.prefill_seconds = 0.5;
  b.by_task = {{"niah_single", 50, 2}, {"vt", 0, 2}};
  return {a, b};
}

TEST(Report, SummarizeGroupsByTaskAndBin) {
  std::vector<PreparedSample> p(3);
  p[0].sample.task = "vt", p[0].length_bin = "2k", p[0].length_bin_order = 2048;
  p[1].sample.task = "cwe", p[1].length_bin = "1k", p[1].length_bin_order = 1024;
  p[2].sample.task = "vt", p[2].length_bin = "1k", p[2].length_bin_order = 1024;
  SettingOutcome o;
  o.setting.name = "x";
  o.samples = {{&p[0], "", "", 1.0}, {&p[1], "", "", 0.5}, {&p[2], "", "", 0.0}};
  const SettingSummary s = summarize(o);
  EXPECT_DOUBLE_EQ(s.accuracy, 50);
  ASSERT_EQ(s.by_task.size(), 2u);
  EXPECT_EQ(s.by_task[0].name, "vt");
  EXPECT_DOUBLE_EQ(s.by_task[0].accuracy, 50);
  ASSERT_EQ(s.by_length.size(), 2u);
  EXPECT_EQ(s.by_length[0].name, "1k");
  EXPECT_DOUBLE_EQ(s.by_length[0].accuracy, 25);
  const nlohmann::json j = summary_to_json(s, {});
  for (const char* k : {"setting", "swaa", "accuracy", "accuracy_by_task", "accuracy_by_length", "prefill_seconds",
                        "decode_seconds", "generated_tokens", "prompt_tokens"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
}

TEST(Report, MarkdownTableHasOneRowPerSetting) {
  const std::string md = markdown_report(two_summaries(), {"m", "q", "chat template", 1.5});
  EXPECT_NE(md.find("| setting | SWAA | accuracy % | niah_single | vt | 1k | 2k | prefill s |"), std::string::npos) << md;
  EXPECT_NE(md.find("| full | full attention | **75.0** | 100.0 | 50.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("W=2k S=100 full-layers[1,3,..,11]"), std::string::npos) << md;
}

TEST(Report, SvgHasAxesLabelsAndEveryConfiguration) {
  const std::string svg = accuracy_time_svg(two_summaries(), {"model-dir", "questions", "chat template", 0});
  EXPECT_EQ(svg.rfind("<svg ", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("accuracy (%)"), std::string::npos);
  EXPECT_NE(svg.find("prefill + decode (s)"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 4);  // two markers, two legend dots
  EXPECT_NE(svg.find("swa &lt;2k&gt; &amp; sinks"), std::string::npos);
  EXPECT_EQ(svg.find("swa <2k>"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);  // full attention reference line
  EXPECT_EQ(count(svg, "<text"), count(svg, "</text>"));
}

TEST(Report, NiceTicksAndTokenLabels) {
  EXPECT_EQ(nice_ticks(0, 100, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(nice_ticks(0, 4.3, 6), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  const auto t = nice_ticks(0, 0.033, 6);
  EXPECT_GE(t.back(), 0.033);
  EXPECT_EQ(format_tokens(1024), "1k");
  EXPECT_EQ(format_tokens(1536), "1.5k");
  EXPECT_EQ(format_tokens(300), "300");
  EXPECT_EQ(paper_length_bin(20000).first, "16-32k");
  EXPECT_EQ(paper_length_bin(200000).first, "128k+");
}

}  // namespace
}  // namespace swaa::eval
