// The whole engine (loading, CPU backend, paged KV with release, prefill chunks and decode steps)
// against the fp64 reference forward pass, for random checkpoints of every architecture and
// dtype under the SWAA configurations of SWAA.md §5; chunked prefill equals one prefill.
#include <gtest/gtest.h>

#include <random>

#include "e2e/score_test_util.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "reference/reference_model.h"
#include "support/checkpoint_writer.h"
#include "swaa/score.h"

namespace swaa {
namespace {

using testing::max_abs_diff;
using testing::swaa_cfg;

std::vector<SwaaConfig> configs() {
  return {swaa_cfg(std::nullopt),        swaa_cfg(6),       swaa_cfg(6, 3),           swaa_cfg(6, 3, true),
          swaa_cfg(6, 3, true, {1}),     swaa_cfg(6, 3, false, {}, {0, 2}), swaa_cfg(3, 9),
          swaa_cfg(1),                   swaa_cfg(1, 2, true), swaa_cfg(100, 1)};
}

struct Fixture {
  std::string dir;
  ModelConfig config;
  reference::Weights weights;
  std::vector<int32_t> tokens;
};

Fixture make_fixture(const testing::RandomModelSpec& spec, int T) {
  Fixture f;
  f.dir = testing::make_temp_dir(spec.model_type);
  testing::TensorMap m = testing::write_random_model(f.dir, spec);
  for (auto& [name, t] : m) f.weights[name] = std::vector<double>(t.values.begin(), t.values.end());
  f.config = ModelConfig::load(f.dir).value();
  std::mt19937 rng(static_cast<unsigned>(spec.seed) + 11);
  for (int i = 0; i < T; ++i) f.tokens.push_back(static_cast<int32_t>(rng() % spec.vocab));
  return f;
}

std::vector<double> engine_logprobs(const Fixture& f, const SwaaConfig& c, int P, int chunk, int block_size = 4) {
  ScoreOptions opt;
  opt.model_dir = f.dir;
  opt.swaa = c;
  opt.prompt_tokens = P;
  opt.prefill_chunk = chunk;
  opt.block_size = block_size;
  opt.num_threads = 2;
  auto r = score_tokens(opt, f.tokens);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? r->logprobs : std::vector<double>{};
}

// fp32 engine vs fp64 reference: logprobs are sums of O(H) products through a few layers;
// observed error of a naive fp32 implementation is ~1e-5, we allow 1e-3 as the HF fixtures do.
constexpr double kTol = 1e-3;

class ArchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ArchTest, MatchesFp64ReferenceUnderEveryConfig) {
  testing::RandomModelSpec spec;
  spec.model_type = GetParam();
  spec.dtype = GetParam() == "qwen2" ? DType::kF16 : GetParam() == "llama" ? DType::kF32 : DType::kBF16;
  spec.tie_embeddings = GetParam() == "qwen2";
  const int T = 40, P = 28;
  Fixture f = make_fixture(spec, T);
  const std::vector<int> tokens(f.tokens.begin(), f.tokens.end());
  const auto full = reference::logprobs(f.config, f.weights, swaa_cfg(std::nullopt), tokens, P);
  for (const SwaaConfig& c : configs()) {
    const auto want = reference::logprobs(f.config, f.weights, c, tokens, P);
    const auto got = engine_logprobs(f, c, P, 0);
    EXPECT_LT(max_abs_diff(got, want), kTol) << GetParam() << " under " << describe(c);
    if (c.sliding_window_size && *c.sliding_window_size < 20) {
      // The configuration must matter, or this test could not tell configs apart.
      EXPECT_GT(max_abs_diff(want, full), 0.05) << "config " << describe(c) << " indistinguishable from full";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllArchitectures, ArchTest, ::testing::Values("qwen3", "qwen3_moe", "qwen2", "llama"));

TEST(ChunkedPrefill, EqualsOnePrefill) {
  testing::RandomModelSpec spec;
  spec.seed = 5;
  const int T = 72, P = 64;
  Fixture f = make_fixture(spec, T);
  std::mt19937 rng(3);
  for (const SwaaConfig& c : {swaa_cfg(5, 2), swaa_cfg(9, 4, true, {1}), swaa_cfg(std::nullopt)}) {
    const auto once = engine_logprobs(f, c, P, 0);
    for (int chunk : {1, 7, 64, static_cast<int>(rng() % 20) + 2}) {
      for (int bs : {1, 4, 16}) {
        const auto chunked = engine_logprobs(f, c, P, chunk, bs);
        EXPECT_LT(max_abs_diff(chunked, once), 1e-5) << describe(c) << " chunk " << chunk << " block " << bs;
      }
    }
  }
}

TEST(Score, RejectsBadInput) {
  testing::RandomModelSpec spec;
  Fixture f = make_fixture(spec, 8);
  ScoreOptions opt;
  opt.model_dir = f.dir;
  opt.prompt_tokens = 4;
  std::vector<int32_t> bad = f.tokens;
  bad[5] = spec.vocab;
  auto r = score_tokens(opt, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("token id 96 at index 5 is outside the vocabulary [0, 96)"), std::string::npos)
      << r.status().message();
  bad[5] = -1;
  EXPECT_FALSE(score_tokens(opt, bad).ok());
  opt.prompt_tokens = 0;
  EXPECT_NE(score_tokens(opt, f.tokens).status().message().find("prompt length 0"), std::string::npos);
  opt.prompt_tokens = 4;
  opt.swaa.sliding_window_size = 0;
  EXPECT_NE(score_tokens(opt, f.tokens).status().message().find("sliding_window_size must be >= 1"), std::string::npos);
}

}  // namespace
}  // namespace swaa
