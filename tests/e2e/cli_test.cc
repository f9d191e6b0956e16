// `swaa score` as a user runs it: JSON output, SWAA flags and --swaa-config, and a precise error
// with a non-zero exit for every kind of bad input (never a crash, never a silent answer).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/checkpoint_writer.h"
#include "support/run_command.h"

namespace swaa {
namespace {


class CliScore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("m");
    testing::write_random_model(dir_ + "/model", testing::RandomModelSpec{});
    tokens_ = dir_ + "/tokens.json";
    std::ofstream(tokens_) << "[1, 5, 9, 2, 7, 3, 8, 4, 6, 0]";
  }
  std::string score(const std::string& extra) {
    return "score -m " + dir_ + "/model --tokens-file " + tokens_ + " --prompt-tokens 6 " + extra;
  }
  void expect_error(const testing::CommandResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << "output lacks '" << needle << "':\n" << r.out;
    EXPECT_EQ(r.out.find("internal error"), std::string::npos) << r.out;
  }
  std::string dir_, tokens_;
};

TEST_F(CliScore, PrintsLogprobs) {
  testing::CommandResult r = testing::run_swaa(score("--sliding-window-size 3 --keep-first 1 --force-fa-decode true --non-sliding-layers '[1]' --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  ASSERT_EQ(j["logprobs"].size(), 9u);
  for (const auto& v : j["logprobs"]) EXPECT_LT(v.get<double>(), 0.0);
  EXPECT_EQ(j["swaa"], "W=3 S=1 fa_decode=all non_sliding=[1]");
}

TEST_F(CliScore, SwaaConfigFileEqualsFlags) {
  std::ofstream(dir_ + "/swaa.json") << R"({"sliding_window_size": 3, "keep_first": 1, "force_fa_decode": [0]})";
  testing::CommandResult a = testing::run_swaa(score("--swaa-config " + dir_ + "/swaa.json"));
  testing::CommandResult b = testing::run_swaa(score("--sliding-window-size 3 --keep-first 1 --force-fa-decode 0 --prefill-chunk 1"));
  ASSERT_EQ(a.exit_code, 0) << a.out;
  ASSERT_EQ(b.exit_code, 0) << b.out;
  auto la = nlohmann::json::parse(a.out.substr(0, a.out.find('\n')))["logprobs"];
  auto lb = nlohmann::json::parse(b.out.substr(0, b.out.find('\n')))["logprobs"];
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_NEAR(la[i].get<double>(), lb[i].get<double>(), 1e-5);
}

TEST_F(CliScore, InvalidSwaaValues) {
  expect_error(testing::run_swaa(score("--sliding-window-size 0")), "sliding_window_size must be >= 1 or null (full attention), got 0");
  expect_error(testing::run_swaa(score("--keep-first=-1")), "keep_first must be >= 0, got -1");
  expect_error(testing::run_swaa(score("--non-sliding-layers=-1")), "negative layer index -1");
  expect_error(testing::run_swaa(score("--sliding-window-size big")), "--sliding-window-size: 'big' is not an integer");
  std::ofstream(dir_ + "/bad.json") << R"({"sliding_window_size": 4, "keepfirst": 2})";
  expect_error(testing::run_swaa(score("--swaa-config " + dir_ + "/bad.json")), "unknown field 'keepfirst'");
}

TEST_F(CliScore, UnavailableDevice) {
  // On a machine without a GPU (or a build without CUDA) --device cuda is a clear error.
  testing::CommandResult r = testing::run_swaa(score("--device cuda"));
  if (r.exit_code == 0) GTEST_SKIP() << "a GPU is present";
  expect_error(r, "cuda");
  expect_error(testing::run_swaa(score("--device tpu")), "unknown device 'tpu' (expected cpu, cuda or cuda:N)");
}

TEST_F(CliScore, BadTokens) {
  std::ofstream(dir_ + "/oov.json") << "[1, 2, 4000, 3]";
  expect_error(testing::run_swaa("score -m " + dir_ + "/model --tokens-file " + dir_ + "/oov.json --prompt-tokens 2"),
               "token id 4000 at index 2 is outside the vocabulary [0, 96)");
  std::ofstream(dir_ + "/notarray.json") << R"({"ids": [1]})";
  expect_error(testing::run_swaa("score -m " + dir_ + "/model --tokens-file " + dir_ + "/notarray.json --prompt-tokens 1"),
               "expected a JSON array of token ids");
  expect_error(testing::run_swaa("score -m " + dir_ + "/model --tokens-file /no/tokens.json --prompt-tokens 1"),
               "/no/tokens.json: no such file");
  expect_error(testing::run_swaa(score("").replace(score("").find("--prompt-tokens 6"), 17, "--prompt-tokens 11")),
               "prompt length 11 must be in [1, 10]");
}

TEST_F(CliScore, BadCheckpoints) {
  namespace fs = std::filesystem;
  const std::string m = dir_ + "/model";
  expect_error(testing::run_swaa("score -m /no/model --tokens-file " + tokens_ + " --prompt-tokens 2"), "/no/model: no such directory");
  // Truncated weights.
  fs::copy_file(m + "/model.safetensors", dir_ + "/backup.safetensors");
  fs::resize_file(m + "/model.safetensors", fs::file_size(m + "/model.safetensors") / 2);
  expect_error(testing::run_swaa(score("")), "overrun");
  fs::copy_file(dir_ + "/backup.safetensors", m + "/model.safetensors", fs::copy_options::overwrite_existing);
  // Unsupported model_type, then a mis-shaped tensor (hidden size disagrees with the weights).
  auto cfg = testing::random_model_config(testing::RandomModelSpec{});
  cfg["model_type"] = "mistral";
  std::ofstream(m + "/config.json") << cfg.dump();
  expect_error(testing::run_swaa(score("")), "model_type 'mistral' is not supported");
  cfg["model_type"] = "qwen3";
  cfg["intermediate_size"] = 50;
  std::ofstream(m + "/config.json") << cfg.dump();
  expect_error(testing::run_swaa(score("")), "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [48, 32], expected [50, 32]");
  fs::remove(m + "/config.json");
  expect_error(testing::run_swaa(score("")), "config.json: no such file");
}

}  // namespace
}  // namespace swaa

namespace swaa {
namespace {

// generate / chat / bench as a user runs them, on a random model with a byte-level tokenizer.
class CliGenerate : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("gen");
    testing::RandomModelSpec spec;
    spec.vocab = 300;
    testing::write_random_model(dir_, spec);
    testing::write_byte_tokenizer(dir_);
  }
  std::string dir_;
};


TEST_F(CliGenerate, GenerateIsDeterministicWithASeed) {
  const std::string args = "generate -m " + dir_ + " -p 'Hello' -n 12 --seed 7 --ignore-eos --sliding-window-size 4 --keep-first 1";
  testing::CommandResult a = testing::run_swaa(args), b = testing::run_swaa(args);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(a.out.substr(0, a.out.find("swaa generate:")), b.out.substr(0, b.out.find("swaa generate:")));
  EXPECT_NE(a.out.find("swaa generate: 5 prompt tokens, 12 generated (length)"), std::string::npos) << a.out;
}

TEST_F(CliGenerate, ChatKeepsHistoryAndResets) {
  const std::string cmd = "printf 'hi\\nagain\\n/reset\\n/exit\\n' | " + std::string(SWAA_BINARY_DIR) + "/swaa chat -m " +
                          dir_ + " -n 4 --temperature 0 --ignore-eos 2>&1";
  testing::CommandResult r = testing::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("(conversation cleared)"), std::string::npos) << r.out;
}

TEST_F(CliGenerate, BenchJson) {
  testing::CommandResult r =
      testing::run_swaa("bench -m " + dir_ + " --prompt-len 40 --gen-len 5 --batch 3 --warmup 1 --json --sliding-window-size 8");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["batch"], 3);
  EXPECT_EQ(j["warmup"], 1);
  EXPECT_GT(j["prefill_tokens_per_second"].get<double>(), 0.0);
  EXPECT_GT(j["decode_tokens_per_second"].get<double>(), 0.0);
  EXPECT_GT(j["peak_kv_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(j["swaa"], "W=8 S=0 fa_decode=off");
  EXPECT_EQ(j["max_num_seqs"], 16);  // the default: at least the batch
  // The three prompts are read in one step; steps 2-5 decode all three (the last ends them all).
  EXPECT_EQ(j["decode_full_batch_steps"], 4);
  EXPECT_GT(j["decode_full_batch_tokens_per_second"].get<double>(), 0.0);
}

// --batch above the default sequence limit (16) runs every request at once; an explicit, smaller
// --max-num-seqs is kept and named on stderr.
TEST_F(CliGenerate, BenchBatchRaisesTheSequenceLimit) {
  testing::CommandResult r = testing::run_swaa("bench -m " + dir_ + " --prompt-len 8 --gen-len 2 --batch 20 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["max_num_seqs"], 20);
  r = testing::run_swaa("bench -m " + dir_ + " --prompt-len 8 --gen-len 2 --batch 20 --max-num-seqs 8 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("--batch 20 runs at most 8 sequences at a time (--max-num-seqs 8)"), std::string::npos) << r.out;
  j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["max_num_seqs"], 8);
  EXPECT_EQ(j["decode_full_batch_steps"], 0) << "in waves the first requests finish before the last start";
}

// Sampled decode: the settings reach the requests and the JSON; a bad one is the engine's error.
TEST_F(CliGenerate, BenchSamples) {
  testing::CommandResult r = testing::run_swaa("bench -m " + dir_ +
                                               " --prompt-len 8 --gen-len 4 --batch 2 --json --temperature 0.7 "
                                               "--top-p 0.9 --top-k 20 --min-p 0.01 --repetition-penalty 1.1 "
                                               "--presence-penalty 0.2 --frequency-penalty 0.1 --logprobs 3");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_FLOAT_EQ(j["temperature"].get<float>(), 0.7f);
  EXPECT_FLOAT_EQ(j["top_p"].get<float>(), 0.9f);
  EXPECT_EQ(j["top_k"], 20);
  EXPECT_FLOAT_EQ(j["min_p"].get<float>(), 0.01f);
  EXPECT_FLOAT_EQ(j["repetition_penalty"].get<float>(), 1.1f);
  EXPECT_FLOAT_EQ(j["presence_penalty"].get<float>(), 0.2f);
  EXPECT_FLOAT_EQ(j["frequency_penalty"].get<float>(), 0.1f);
  EXPECT_EQ(j["logprobs"], 3);
  EXPECT_GT(j["decode_tokens_per_second"].get<double>(), 0.0);
  r = testing::run_swaa("bench -m " + dir_ + " --prompt-len 4 --gen-len 1 --temperature 0.7 --top-p 1.5");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("top_p must be in (0, 1], got 1.5"), std::string::npos) << r.out;
  r = testing::run_swaa("bench -m " + dir_ + " --prompt-len 4 --gen-len 1 --repetition-penalty 0");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("repetition_penalty must be > 0"), std::string::npos) << r.out;
  r = testing::run_swaa("bench -m " + dir_ + " --prompt-len 4 --gen-len 1 --logprobs 21");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("logprobs must be -1 (off), 0 (the chosen token only) or 1..20"), std::string::npos) << r.out;
}

TEST_F(CliGenerate, BenchRejectsNegativeWarmup) {
  testing::CommandResult r = testing::run_swaa("bench -m " + dir_ + " --prompt-len 4 --gen-len 1 --warmup -1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("--warmup must be >= 0, got -1"), std::string::npos) << r.out;
}

TEST_F(CliGenerate, BenchPromptPastMaxModelLenNamesTheFlag) {
  // The random checkpoint says max_position_embeddings 65536: a longer prompt needs --max-model-len.
  testing::CommandResult r = testing::run_swaa("bench -m " + dir_ + " --prompt-len 70000 --gen-len 1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("prompt of 70000 tokens leaves no room to generate within max_model_len 65536 (the checkpoint's "
                       "max_position_embeddings unless --max-model-len sets it)"),
            std::string::npos)
      << r.out;
}

TEST_F(CliGenerate, CtrlCStopsCleanly) {
  // A long generation interrupted by SIGINT ends with a message and exit code 1, not a crash.
  // --foreground: without it timeout also signals its process group, so swaa can get SIGINT twice,
  // which (like pressing Ctrl-C twice) exits at once with 130.
  const std::string cmd = "timeout --foreground --preserve-status -s INT 2 " + std::string(SWAA_BINARY_DIR) + "/swaa generate -m " + dir_ +
                          " -p x -n 100000 --ignore-eos --max-model-len 200000 --kv-cache-gib 0.1 2>&1";
  const testing::CommandResult r = testing::run_command(cmd);
  const std::string& out = r.out;
  EXPECT_EQ(r.exit_code, 1) << out;
  EXPECT_NE(out.find("swaa generate: error: interrupted"), std::string::npos) << out.substr(out.size() > 300 ? out.size() - 300 : 0);
}

TEST_F(CliGenerate, MissingPrompt) {
  testing::CommandResult r = testing::run_swaa("generate -m " + dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("give exactly one of -p TEXT, -f FILE or --messages FILE.json"), std::string::npos) << r.out;
}

// README's first command: no -m, so the embedded default model models/swaa-tiny, under SWAA.
TEST(CliDefaultModel, ReadmeFirstCommandGenerates) {
  testing::CommandResult r = testing::run_swaa(
      "generate -p 'It is a truth universally acknowledged, that' -n 12 --threads 1 --sliding-window-size 256 "
      "--keep-first 16 --force-fa-decode true");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("12 generated"), std::string::npos) << r.out;
  // No -m and -m swaa-tiny are the same model: the same greedy text.
  const std::string greedy = " -p 'It is a truth universally acknowledged, that' -n 12 --threads 1 -q --temperature 0 "
                             "--sliding-window-size 256 --keep-first 16 --force-fa-decode true";
  const testing::CommandResult a = testing::run_swaa("generate" + greedy), b = testing::run_swaa("generate -m swaa-tiny" + greedy);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_GT(a.out.size(), 12u) << a.out;
  EXPECT_EQ(a.out, b.out);
}

TEST(CliDefaultModel, UnknownEmbeddedNameNamesWhereItLooked) {
  testing::CommandResult r = testing::run_swaa("generate -m swaa-huge -p x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("-m swaa-huge: not a directory, and no embedded model of that name"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace swaa
