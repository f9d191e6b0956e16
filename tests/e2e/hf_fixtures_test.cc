// The engine against Hugging Face Transformers: tiny random checkpoints of qwen3, qwen3_moe,
// qwen2 (yarn rope, f16, tied) and llama (llama3 rope, f32, sharded) with per-token
// log-probabilities computed by Transformers in fp64 under the SWAA mask
// (tools/hf_reference/make_fixtures.py). Every case must match within 1e-3 on the CPU, unchunked
// and with prefill chunks of 7. A missing fixture fails the test.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "attention/swaa_config_parse.h"
#include "core/json_util.h"
#include "e2e/score_test_util.h"
#include "swaa/score.h"

namespace swaa {
namespace {

constexpr double kTol = 1e-3;

class HfFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(HfFixture, MatchesTransformers) {
  const std::string dir = std::string(SWAA_TEST_DATA_DIR) + "/e2e/" + GetParam();
  auto cases = read_json_file(dir + "/cases.json");
  ASSERT_TRUE(cases.ok()) << cases.status().message() << " (run tools/hf_reference/make_fixtures.py)";
  std::vector<int32_t> tokens = (*cases)["tokens"].get<std::vector<int32_t>>();
  const int P = (*cases)["prompt_tokens"].get<int>();
  ASSERT_GE((*cases)["cases"].size(), 8u);
  for (const auto& c : (*cases)["cases"]) {
    const std::string name = c["name"].get<std::string>();
    auto swaa = swaa_config_from_json(c["swaa"], dir + "/cases.json: case " + name);
    ASSERT_TRUE(swaa.ok()) << swaa.status().message();
    const std::vector<double> want = c["logprobs"].get<std::vector<double>>();
    for (int chunk : {0, 7}) {
      ScoreOptions opt;
      opt.model_dir = dir;
      opt.swaa = *swaa;
      opt.prompt_tokens = P;
      opt.prefill_chunk = chunk;
      opt.block_size = 4;
      auto r = score_tokens(opt, tokens);
      ASSERT_TRUE(r.ok()) << r.status().message();
      const double diff = testing::max_abs_diff(r->logprobs, want);
      if (chunk == 0) std::printf("| %-10s | %-16s | %.2e |\n", GetParam().c_str(), name.c_str(), diff);
      EXPECT_LT(diff, kTol) << GetParam() << " case " << name << " chunk " << chunk;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Transformers, HfFixture, ::testing::Values("qwen3", "qwen3_moe", "qwen2", "llama"));

}  // namespace
}  // namespace swaa
