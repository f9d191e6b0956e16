// The engine end to end on a random model: continuous batching of 16 requests of mixed lengths
// with a KV cache small enough to force preemption gives, token for token, what each request gives
// alone (greedy), under several SWAA configurations; seeded sampling is reproducible across batch
// compositions; text and chat prompts, stop strings, abort and bad requests; logprobs equal the
// score API's on the same tokens (greedy and sampled, batched with preemption, with stop strings).
#include <gtest/gtest.h>

#include <random>

#include "e2e/score_test_util.h"
#include "support/checkpoint_writer.h"
#include "swaa/engine.h"
#include "swaa/score.h"

namespace swaa {
namespace {

using testing::swaa_cfg;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::make_temp_dir("engine_model"));
    testing::RandomModelSpec spec;
    spec.vocab = 300;
    spec.seed = 3;
    testing::write_random_model(*dir_, spec);
    testing::write_byte_tokenizer(*dir_);
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::unique_ptr<Engine> make(const SwaaConfig& c, int max_seqs, int64_t kv_bytes, int budget = 24) {
    EngineOptions o;
    o.model_dir = *dir_;
    o.swaa = c;
    o.num_threads = 1;
    o.block_size = 4;
    o.max_num_seqs = max_seqs;
    o.max_num_batched_tokens = budget;
    o.kv_cache_bytes = kv_bytes;
    auto e = Engine::create(o);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  static std::vector<RequestInput> prompts(int n) {
    std::mt19937 rng(9);
    std::vector<RequestInput> in(n);
    for (int i = 0; i < n; ++i) {
      const int len = 3 + static_cast<int>(rng() % 40);
      for (int t = 0; t < len; ++t) in[i].prompt_token_ids.push_back(static_cast<int32_t>(rng() % 256));
    }
    return in;
  }

  // log p(generated[i] | prompt, generated[..i]) from the score API (DESIGN.md §3).
  static std::vector<double> score(const SwaaConfig& c, const std::vector<int32_t>& prompt,
                                   const std::vector<int32_t>& generated) {
    ScoreOptions o;
    o.model_dir = *dir_;
    o.swaa = c;
    o.prompt_tokens = static_cast<int>(prompt.size());
    o.num_threads = 1;
    o.block_size = 4;
    std::vector<int32_t> all = prompt;
    all.insert(all.end(), generated.begin(), generated.end());
    auto r = score_tokens(o, all);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return {};
    return std::vector<double>(r->logprobs.end() - static_cast<long>(generated.size()), r->logprobs.end());
  }

  // Logprobs of `r` against the score API: one per id, each within 1e-4, top N sorted descending,
  // containing the chosen token when it ranks within N (always first under greedy).
  static void expect_logprobs_match_score(const SwaaConfig& c, const RequestInput& in, const GenerationResult& r,
                                          int num_top, bool greedy, const std::string& where) {
    ASSERT_EQ(r.logprobs.size(), r.token_ids.size()) << where;
    const std::vector<double> ref = score(c, in.prompt_token_ids, r.token_ids);
    ASSERT_EQ(ref.size(), r.token_ids.size()) << where;
    for (size_t i = 0; i < ref.size(); ++i) {
      const SampleLogprobs& lp = r.logprobs[i];
      EXPECT_NEAR(lp.logprob, ref[i], 1e-4) << where << " token " << i;
      EXPECT_LE(lp.logprob, 0.0);
      ASSERT_EQ(static_cast<int>(lp.top.size()), num_top) << where;
      double mass = 0;
      for (size_t k = 0; k < lp.top.size(); ++k) {
        mass += std::exp(lp.top[k].logprob);
        if (k > 0) {
          EXPECT_GE(lp.top[k - 1].logprob, lp.top[k].logprob) << where;
        }
        if (lp.top[k].token_id == r.token_ids[i]) {
          EXPECT_DOUBLE_EQ(lp.top[k].logprob, lp.logprob) << where;
        }
      }
      EXPECT_LE(mass, 1.0 + 1e-9) << where;  // a part of a distribution
      if (greedy && num_top > 0) {
        EXPECT_EQ(lp.top[0].token_id, r.token_ids[i]) << where << " token " << i;
      }
    }
  }

  static std::string* dir_;
};
std::string* EngineTest::dir_ = nullptr;

TEST_F(EngineTest, BatchedEqualsOneAtATimeWithPreemption) {
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 12;
  greedy.ignore_eos = true;
  const auto inputs = prompts(16);
  for (const SwaaConfig& c : {swaa_cfg(std::nullopt), swaa_cfg(5, 2), swaa_cfg(6, 3, true, {1}), swaa_cfg(3, 0, false, {}, {0})}) {
    std::vector<std::vector<int32_t>> alone;
    auto single = make(c, 1, 64 << 20);
    for (const auto& in : inputs) {
      auto r = single->generate({in}, greedy);
      ASSERT_TRUE(r.ok()) << r.status().message();
      alone.push_back((*r)[0].token_ids);
    }
    // 3 layers x 2 kv heads x 8 dims x 4 B x 2 (K, V) = 384 B per token: 40 KiB holds ~100 tokens.
    auto batched = make(c, 16, 40 << 10);
    auto r = batched->generate(inputs, greedy);
    ASSERT_TRUE(r.ok()) << r.status().message();
    int preemptions = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ((*r)[i].token_ids, alone[i]) << describe(c) << " request " << i;
      EXPECT_EQ((*r)[i].finish_reason, FinishReason::kLength);
      preemptions += (*r)[i].metrics.preemptions;
    }
    if (!c.sliding_window_size || c.force_fa_decode_all) EXPECT_GT(preemptions, 0) << describe(c);
    EXPECT_EQ(batched->kv_stats().live_bytes, 0);  // everything freed at the end
  }
}

TEST_F(EngineTest, SeededSamplingReproducibleAcrossBatches) {
  SamplingParams p;
  p.temperature = 0.9f;
  p.top_p = 0.95f;
  p.top_k = 50;
  p.seed = 1234;
  p.max_tokens = 10;
  p.ignore_eos = true;
  const auto inputs = prompts(6);
  auto e1 = make(swaa_cfg(5, 2), 1, 64 << 20);
  auto e2 = make(swaa_cfg(5, 2), 6, 64 << 20, 7);
  auto alone = e1->generate({inputs[3]}, p);
  auto batch = e2->generate(inputs, p);
  ASSERT_TRUE(alone.ok() && batch.ok());
  EXPECT_EQ((*alone)[0].token_ids, (*batch)[3].token_ids);
  auto again = e2->generate(inputs, p);
  for (size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ((*again)[i].token_ids, (*batch)[i].token_ids);
}

TEST_F(EngineTest, TextChatStopAndAbort) {
  auto e = make(swaa_cfg(8, 2, true), 4, 64 << 20);
  ASSERT_NE(e->tokenizer(), nullptr);
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = 20;
  p.ignore_eos = true;
  RequestInput text;
  text.prompt = "Hello, world";
  auto plain = e->generate({text}, p);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  const std::string full = (*plain)[0].text;
  ASSERT_FALSE(full.empty());
  EXPECT_EQ(full, e->tokenizer()->decode((*plain)[0].token_ids, true));
  // A stop string taken from the middle of the greedy output: output ends right before it.
  const std::string stop = full.substr(full.size() / 2, 2);
  p.stop = {stop};
  auto stopped = e->generate({text}, p);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ((*stopped)[0].text, full.substr(0, full.find(stop)));
  EXPECT_EQ((*stopped)[0].finish_reason, FinishReason::kStop);
  // Chat prompt goes through the template.
  RequestInput chat;
  chat.prompt = "hi";
  chat.chat = true;
  auto c = e->generate({chat}, SamplingParams{.temperature = 0, .max_tokens = 3});
  ASSERT_TRUE(c.ok()) << c.status().message();
  // "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n": 3 special tokens + 18 bytes.
  EXPECT_EQ((*c)[0].metrics.prompt_tokens, 21);
  // Abort mid-generation frees the KV and reports kAbort.
  auto id = e->add_request(text, SamplingParams{.temperature = 0, .max_tokens = 100, .ignore_eos = true});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(e->step().ok());
  e->abort(*id);
  auto outs = e->step();
  ASSERT_TRUE(outs.ok());
  ASSERT_EQ(outs->size(), 1u);
  EXPECT_EQ((*outs)[0].finish_reason, FinishReason::kAbort);
  EXPECT_FALSE(e->has_unfinished());
  EXPECT_EQ(e->kv_stats().live_bytes, 0);
}

TEST_F(EngineTest, GreedyLogprobsMatchScore) {
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 10;
  greedy.ignore_eos = true;
  greedy.logprobs = 5;
  const auto inputs = prompts(4);
  for (const SwaaConfig& c : {swaa_cfg(std::nullopt), swaa_cfg(5, 2), swaa_cfg(6, 3, true, {1})}) {
    auto e = make(c, 4, 64 << 20);
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto r = e->generate({inputs[i]}, greedy);
      ASSERT_TRUE(r.ok()) << r.status().message();
      expect_logprobs_match_score(c, inputs[i], (*r)[0], 5, true, describe(c) + " request " + std::to_string(i));
    }
    // logprobs = 0: the chosen token's value only; off: nothing, same tokens.
    SamplingParams p = greedy;
    p.logprobs = 0;
    auto zero = e->generate({inputs[0]}, p);
    p.logprobs = -1;
    auto off = e->generate({inputs[0]}, p);
    ASSERT_TRUE(zero.ok() && off.ok());
    expect_logprobs_match_score(c, inputs[0], (*zero)[0], 0, true, describe(c) + " logprobs 0");
    EXPECT_TRUE((*off)[0].logprobs.empty());
    EXPECT_EQ((*off)[0].token_ids, (*zero)[0].token_ids);
  }
}

// Raw logprobs: temperature, penalties and top-k change which token is drawn, never the values.
TEST_F(EngineTest, SampledLogprobsAreRawModelLogprobs) {
  SamplingParams p;
  p.temperature = 1.7f;
  p.top_k = 8;
  p.top_p = 0.9f;
  p.repetition_penalty = 1.4f;
  p.presence_penalty = 0.5f;
  p.seed = 77;
  p.max_tokens = 12;
  p.ignore_eos = true;
  p.logprobs = 20;
  const auto inputs = prompts(3);
  const SwaaConfig c = swaa_cfg(5, 2);
  auto e = make(c, 4, 64 << 20);
  auto r = e->generate(inputs, p);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (size_t i = 0; i < inputs.size(); ++i) {
    expect_logprobs_match_score(c, inputs[i], (*r)[i], 20, false, "sampled request " + std::to_string(i));
  }
}

// Batching and preemption by recompute change neither the values nor their count: a recomputed
// sequence reports only the tokens it samples anew.
TEST_F(EngineTest, LogprobsUnchangedByBatchingAndPreemption) {
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 12;
  greedy.ignore_eos = true;
  greedy.logprobs = 3;
  const auto inputs = prompts(16);
  for (const SwaaConfig& c : {swaa_cfg(std::nullopt), swaa_cfg(6, 3, true, {1})}) {
    auto single = make(c, 1, 64 << 20);
    auto batched = make(c, 16, 40 << 10);  // forces preemption (see BatchedEqualsOneAtATimeWithPreemption)
    auto r = batched->generate(inputs, greedy);
    ASSERT_TRUE(r.ok()) << r.status().message();
    int preemptions = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const GenerationResult& b = (*r)[i];
      preemptions += b.metrics.preemptions;
      auto alone = single->generate({inputs[i]}, greedy);
      ASSERT_TRUE(alone.ok());
      const GenerationResult& a = (*alone)[0];
      ASSERT_EQ(b.token_ids, a.token_ids) << describe(c) << " request " << i;
      ASSERT_EQ(b.logprobs.size(), b.token_ids.size()) << describe(c) << " request " << i;
      for (size_t t = 0; t < a.logprobs.size(); ++t) {
        EXPECT_NEAR(b.logprobs[t].logprob, a.logprobs[t].logprob, 1e-4) << describe(c) << " request " << i << " token " << t;
        for (size_t k = 0; k < a.logprobs[t].top.size(); ++k) {
          EXPECT_NEAR(b.logprobs[t].top[k].logprob, a.logprobs[t].top[k].logprob, 1e-4);
        }
      }
      if (b.metrics.preemptions > 0) expect_logprobs_match_score(c, inputs[i], b, 3, true, describe(c) + " preempted");
    }
    EXPECT_GT(preemptions, 0) << describe(c);
  }
}

TEST_F(EngineTest, LogprobsWithStopStringsAndStreamingOutputs) {
  auto e = make(swaa_cfg(8, 2, true), 4, 64 << 20);
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = 20;
  p.ignore_eos = true;
  p.logprobs = 2;
  RequestInput text;
  text.prompt = "Hello, world";
  auto plain = e->generate({text}, p);
  ASSERT_TRUE(plain.ok());
  const std::string full = (*plain)[0].text;
  p.stop = {full.substr(full.size() / 2, 2)};
  auto id = e->add_request(text, p);
  ASSERT_TRUE(id.ok());
  std::vector<int32_t> ids;
  std::vector<SampleLogprobs> lps;
  while (e->has_unfinished()) {
    auto outs = e->step();
    ASSERT_TRUE(outs.ok());
    for (const RequestOutput& o : *outs) {
      ASSERT_EQ(o.logprobs.size(), o.token_ids.size());  // per output, also while text is held back
      ids.insert(ids.end(), o.token_ids.begin(), o.token_ids.end());
      lps.insert(lps.end(), o.logprobs.begin(), o.logprobs.end());
    }
  }
  // The same tokens as the run without the stop string, up to the one that completed it.
  ASSERT_FALSE(ids.empty());
  ASSERT_LE(ids.size(), (*plain)[0].token_ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ids[i], (*plain)[0].token_ids[i]);
    EXPECT_NEAR(lps[i].logprob, (*plain)[0].logprobs[i].logprob, 1e-9);
  }
}

TEST_F(EngineTest, BadRequests) {
  auto e = make(swaa_cfg(std::nullopt), 4, 8 << 10);
  RequestInput oov;
  oov.prompt_token_ids = {1, 2, 300};
  EXPECT_NE(e->add_request(oov, {}).status().message().find("prompt token id 300 at index 2"), std::string::npos);
  RequestInput empty;
  EXPECT_FALSE(e->add_request(empty, {}).ok());
  RequestInput big;
  big.prompt_token_ids.assign(10, 1);
  SamplingParams p;
  p.max_tokens = 100;  // 110 tokens > what 8 KiB of KV holds (~21 tokens)
  auto st = e->add_request(big, p).status();
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.message();
  p.top_p = 0;
  EXPECT_NE(e->add_request(big, p).status().message().find("top_p"), std::string::npos);
  SamplingParams lp;
  lp.logprobs = 21;
  EXPECT_NE(e->add_request(big, lp).status().message().find("logprobs must be -1 (off)"),
            std::string::npos);
}

}  // namespace
}  // namespace swaa
