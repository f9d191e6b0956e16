// `swaa eval` end to end on a random model with the byte-level tokenizer (accuracy near zero is
// expected: the weights are random): all nine tasks at two lengths under seven SWAA
// configurations, through the library and through the CLI; reports written and consistent;
// the same seed gives the same prompts and the same greedy answers.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/json_util.h"
#include "eval/eval_run.h"
#include "support/checkpoint_writer.h"
#include "support/run_command.h"

namespace swaa::eval {
namespace {

const char* kSettings = R"([
  {"name": "full"},
  {"name": "swa_64", "sliding_window_size": 64},
  {"name": "swa_64_s8", "sliding_window_size": 64, "keep_first": 8},
  {"name": "fa_decode_s8", "sliding_window_size": 64, "keep_first": 8, "force_fa_decode": true},
  {"name": "layer1_full", "sliding_window_size": 64, "non_sliding_layers": [1]},
  {"name": "layer1_full_fa_decode", "sliding_window_size": 64, "keep_first": 8, "force_fa_decode": true, "non_sliding_layers": [1]},
  {"name": "fa_decode_layer0", "sliding_window_size": 32, "keep_first": 4, "force_fa_decode": [0]}
])";

class EvalE2e : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Per process: ctest runs each test of this suite in its own process, possibly in parallel.
    dir_ = new std::string(swaa::testing::make_temp_dir("eval_e2e_" + std::to_string(getpid())));
    swaa::testing::RandomModelSpec spec;
    spec.vocab = 300;
    spec.seed = 11;
    swaa::testing::write_random_model(*dir_ + "/model", spec);
    swaa::testing::write_byte_tokenizer(*dir_ + "/model");
    std::ofstream(*dir_ + "/settings.json") << kSettings;
  }
  static void TearDownTestSuite() { delete dir_; }

  static EvalPlan plan(const std::string& out) {
    EvalPlan p;
    p.engine.model_dir = *dir_ + "/model";
    p.engine.num_threads = 1;
    p.engine.max_num_batched_tokens = 1024;
    p.engine.kv_cache_bytes = 64 << 20;
    auto s = load_settings(*dir_ + "/settings.json");
    EXPECT_TRUE(s.ok()) << s.status().message();
    p.settings = *s;
    p.lengths = {768, 1024};
    p.samples = 1;
    p.seed = 3;
    p.max_tokens = 8;
    p.output_dir = out;
    p.progress = false;
    return p;
  }
  static std::string* dir_;
};
std::string* EvalE2e::dir_ = nullptr;

TEST_F(EvalE2e, SevenConfigsAllTasksWriteTablesAndPlot) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string out = *dir_ + "/out";
  auto r = run_eval(plan(out));
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::fprintf(stderr, "eval e2e: %.1f s\n%s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), r->markdown.c_str());
  ASSERT_EQ(r->summaries.size(), 7u);
  EXPECT_EQ(r->samples.size(), 18u);  // 9 tasks x 2 lengths x 1 sample
  for (const auto& p : r->samples) {
    EXPECT_LE(p.prompt_ids.size(), static_cast<size_t>(p.sample.target_tokens));
    EXPECT_GE(p.prompt_ids.size(), static_cast<size_t>(p.sample.target_tokens * 0.97)) << p.sample.id;
  }
  // results.jsonl: one line per configuration with every field.
  auto text = read_file(r->files.results_jsonl);
  ASSERT_TRUE(text.ok());
  int lines = 0;
  for (size_t pos = 0, end; (end = text->find('\n', pos)) != std::string::npos; pos = end + 1, ++lines) {
    const auto j = nlohmann::json::parse(text->substr(pos, end - pos));
    EXPECT_EQ(j["num_samples"], 18);
    EXPECT_EQ(j["accuracy_by_task"].size(), 9u);
    EXPECT_EQ(j["accuracy_by_length"].size(), 2u);
    EXPECT_GT(j["prefill_seconds"].get<double>(), 0);
    EXPECT_GT(j["generated_tokens"].get<int>(), 0);
  }
  EXPECT_EQ(lines, 7);
  auto md = read_file(r->files.markdown);
  ASSERT_TRUE(md.ok());
  for (const auto& s : r->summaries) EXPECT_NE(md->find("| " + s.name + " |"), std::string::npos) << s.name;
  auto svg = read_file(r->files.svg);
  ASSERT_TRUE(svg.ok());
  for (const auto& s : r->summaries) EXPECT_NE(svg->find(">" + s.name + "</text>"), std::string::npos) << s.name;
  auto samples = read_file(r->files.samples_jsonl);
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(std::count(samples->begin(), samples->end(), '\n'), 7 * 18);
}

TEST_F(EvalE2e, SameSeedSameAnswers) {
  EvalPlan p = plan("");
  p.tasks = {"niah_single", "vt", "babi"};
  p.lengths = {768};
  p.samples = 2;
  p.settings.resize(2);
  auto a = run_eval(p);
  auto b = run_eval(p);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  for (size_t s = 0; s < a->outcomes.size(); ++s) {
    for (size_t i = 0; i < a->outcomes[s].samples.size(); ++i) {
      EXPECT_EQ(a->samples[i].prompt_ids, b->samples[i].prompt_ids);
      EXPECT_EQ(a->outcomes[s].samples[i].output, b->outcomes[s].samples[i].output);
    }
  }
}


TEST_F(EvalE2e, CommandLine) {
  const std::string m = "-m " + *dir_ + "/model --threads 1 --kv-cache-gib 0.0625 ";
  const std::string out = *dir_ + "/cli_out";
  auto ok = testing::run_swaa("eval " + m + "--settings " + *dir_ + "/settings.json --tasks passkey,cwe --lengths 512 --samples 1 -n 4 -q " +
                    "--save-prompts -o " + out);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  auto prompts = read_file(out + "/prompts.jsonl");
  ASSERT_TRUE(prompts.ok()) << prompts.status().message();
  EXPECT_NE(prompts->find("The pass key is"), std::string::npos);
  EXPECT_NE(ok.out.find("| fa_decode_s8 |"), std::string::npos) << ok.out;
  EXPECT_TRUE(std::filesystem::exists(out + "/accuracy_vs_time.svg"));
  // A dataset with the SWAA flags as the single setting.
  std::ofstream(*dir_ + "/d.jsonl") << R"({"prompt": "Say hi", "answer": "hi"})" << "\n";
  auto ds = testing::run_swaa("eval " + m + "--dataset " + *dir_ + "/d.jsonl --sliding-window-size 8 --keep-first 2 -n 4 -q -o " + out + "2");
  EXPECT_EQ(ds.exit_code, 0) << ds.out;
  EXPECT_NE(ds.out.find("W=8 S=2"), std::string::npos) << ds.out;
  auto bad_task = testing::run_swaa("eval " + m + "--tasks niah,vt -q -o " + out);
  EXPECT_EQ(bad_task.exit_code, 1);
  EXPECT_NE(bad_task.out.find("unknown task 'niah'"), std::string::npos) << bad_task.out;
  auto both = testing::run_swaa("eval " + m + "--settings " + *dir_ + "/settings.json --keep-first 4 -q");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.out.find("not both"), std::string::npos) << both.out;
  std::ofstream(*dir_ + "/bad.jsonl") << R"({"prompt": "x", "answer": "y"})" << "\n" << R"({"prompt": "x"})" << "\n";
  auto bad_ds = testing::run_swaa("eval " + m + "--dataset " + *dir_ + "/bad.jsonl -q");
  EXPECT_EQ(bad_ds.exit_code, 1);
  EXPECT_NE(bad_ds.out.find("bad.jsonl:2: missing required field \"answer\""), std::string::npos) << bad_ds.out;
  // A budget past max_model_len is cut with a warning; a prompt with no room left is an error.
  auto cut = testing::run_swaa("eval " + m + "--tasks passkey --lengths 512 --samples 1 -n 64 --max-model-len 540 -o " + out + "3");
  EXPECT_EQ(cut.exit_code, 0) << cut.out;
  EXPECT_NE(cut.out.find("cut to fit max_model_len 540"), std::string::npos) << cut.out;
  auto no_room = testing::run_swaa("eval " + m + "--tasks passkey --lengths 512 --samples 1 --max-model-len 500 -q -o " + out + "3");
  EXPECT_EQ(no_room.exit_code, 1);
  EXPECT_NE(no_room.out.find("leave no room to generate within max_model_len 500"), std::string::npos) << no_room.out;
  auto bad_len = testing::run_swaa("eval " + m + "--lengths 1x -q");
  EXPECT_EQ(bad_len.exit_code, 1);
  EXPECT_NE(bad_len.out.find("--lengths: '1x'"), std::string::npos) << bad_len.out;
}

}  // namespace
}  // namespace swaa::eval
