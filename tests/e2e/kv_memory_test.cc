// KV retention on a long input (SWAA.md §3): with FA decode off in every layer the live KV of the
// windowed group stays within (S + W + one block) tokens per layer during decode (plus the chunk
// during chunked prefill) over 8k+ tokens, while FA decode on, or full attention, grows linearly.
#include <gtest/gtest.h>

#include <random>

#include "e2e/score_test_util.h"
#include "support/checkpoint_writer.h"
#include "swaa/score.h"

namespace swaa {
namespace {

using testing::swaa_cfg;

TEST(KvMemory, WindowedLayersStayBoundedOverLongInput) {
  testing::RandomModelSpec spec;
  spec.layers = 2;
  const std::string dir = testing::make_temp_dir("long");
  testing::write_random_model(dir, spec);
  const int T = 8448, P = 7936, chunk = 32, bs = 16, W = 256, S = 64;
  std::mt19937 rng(1);
  std::vector<int32_t> tokens(T);
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % spec.vocab);
  const int64_t token_bytes = 2LL * spec.kv_heads * spec.head_dim * 4 * spec.layers;  // fp32 K+V, all layers

  ScoreOptions opt;
  opt.model_dir = dir;
  opt.prompt_tokens = P;
  opt.prefill_chunk = chunk;
  opt.block_size = bs;
  opt.num_threads = 1;  // tiny model: threads would only add synchronisation

  opt.swaa = swaa_cfg(W, S, /*fa=*/false);
  auto windowed = score_tokens(opt, tokens);
  ASSERT_TRUE(windowed.ok()) << windowed.status().message();
  for (const KvSample& s : windowed->kv_trace) {
    ASSERT_EQ(s.full_bytes, 0);
    const int64_t bound = s.num_tokens <= P ? (S + W + chunk + bs) * token_bytes : (S + W + bs) * token_bytes;
    ASSERT_LE(s.windowed_bytes, bound) << "after " << s.num_tokens << " tokens";
  }
  EXPECT_LE(windowed->peak_kv_bytes, (S + W + chunk + bs) * token_bytes);

  for (const SwaaConfig& c : {swaa_cfg(W, S, /*fa=*/true), swaa_cfg(std::nullopt)}) {
    opt.swaa = c;
    auto grows = score_tokens(opt, tokens);
    ASSERT_TRUE(grows.ok()) << grows.status().message();
    for (const KvSample& s : grows->kv_trace) {
      ASSERT_EQ(s.windowed_bytes, 0);
      ASSERT_EQ(s.full_bytes, (s.num_tokens + bs - 1) / bs * bs * token_bytes) << describe(c);
    }
    EXPECT_GT(grows->peak_kv_bytes, 20 * windowed->peak_kv_bytes) << describe(c);
  }
}

}  // namespace
}  // namespace swaa
