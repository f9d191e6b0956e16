// RequestState output processing with a byte tokenizer: stop strings are never split across
// outputs and never emitted; held-back text is flushed at the end; eos and max_tokens stop;
// logprobs stay one per emitted id, also while text is held back and when a stop ends generation.
#include "engine/request_state.h"

#include <gtest/gtest.h>

#include <random>

#include "support/checkpoint_writer.h"

namespace swaa {
namespace {

class RequestStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = testing::make_temp_dir("tok");
    testing::write_byte_tokenizer(dir);
    tok_ = std::make_unique<Tokenizer>(Tokenizer::from_dir(dir).value());
  }
  // Feeds `text` byte by byte (the byte tokenizer maps byte b to id b) and collects outputs.
  std::vector<std::string> feed(RequestState& r, const std::string& text) {
    std::vector<std::string> pieces;
    for (unsigned char c : text) {
      r.on_token(c, 1 << 20);
      pieces.push_back(r.take_output().text);
      if (r.finished()) break;
    }
    return pieces;
  }
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(RequestStateTest, StopStringHeldBackAndCut) {
  SamplingParams p;
  p.stop = {"END"};
  RequestState r(1, {1}, p, tok_.get(), {258});
  auto pieces = feed(r, "abcENxEND more");
  std::string all;
  for (auto& s : pieces) all += s;
  EXPECT_EQ(all, "abcENx");
  EXPECT_TRUE(r.finished());
  EXPECT_EQ(r.finish_reason(), FinishReason::kStop);
  // "E" and "EN" were held back until "x" proved them not to start "END".
  EXPECT_EQ(pieces[3], "");
  EXPECT_EQ(pieces[4], "");
  EXPECT_EQ(pieces[5], "ENx");
}

TEST_F(RequestStateTest, EosAndLength) {
  SamplingParams p;
  p.max_tokens = 3;
  RequestState r(1, {1}, p, tok_.get(), {258});
  r.on_token('a', 100);
  r.on_token(258, 100);  // eos: not part of the output
  EXPECT_EQ(r.finish_reason(), FinishReason::kStop);
  EXPECT_EQ(r.output().size(), 1u);
  RequestState l(2, {1}, p, tok_.get(), {258});
  for (char c : std::string("xyz")) l.on_token(c, 100);
  EXPECT_EQ(l.finish_reason(), FinishReason::kLength);
  EXPECT_EQ(l.take_output().text, "xyz");
  p.ignore_eos = true;
  RequestState i(3, {1}, p, tok_.get(), {258});
  i.on_token(258, 100);
  EXPECT_FALSE(i.finished());
}

TEST_F(RequestStateTest, MultiByteCharactersNeverSplit) {
  SamplingParams p;
  RequestState r(1, {1}, p, tok_.get(), {});
  const std::string text = "é€😀";
  auto pieces = feed(r, text);
  std::string all;
  for (auto& s : pieces) {
    all += s;
    // Every piece is whole characters: no piece starts with a continuation byte.
    if (!s.empty()) {
      EXPECT_NE(static_cast<unsigned char>(s[0]) & 0xC0, 0x80);
    }
  }
  r.finish(FinishReason::kLength);
  all += r.take_output().text;
  EXPECT_EQ(all, text);
}

// A stand-in for the engine's logprobs: each token's entry is recognisable by its value.
SampleLogprobs fake_logprobs(int32_t token) { return {-static_cast<double>(token), {{token, -0.5}}}; }

TEST_F(RequestStateTest, LogprobsFollowIdsWhileTextIsHeldBack) {
  SamplingParams p;
  p.stop = {"END"};
  p.logprobs = 1;
  RequestState r(1, {1}, p, tok_.get(), {258});
  std::vector<int32_t> all_ids;
  std::string all_text;
  for (unsigned char c : std::string("abENx\xC3\xA9" "END tail")) {
    r.on_token(c, 1 << 20, fake_logprobs(c));
    RequestOutput o = r.take_output();
    all_text += o.text;
    // Ids are never held back, so each output's logprobs are exactly those of its ids.
    ASSERT_EQ(o.logprobs.size(), o.token_ids.size());
    for (size_t i = 0; i < o.token_ids.size(); ++i) {
      EXPECT_EQ(o.logprobs[i].logprob, -static_cast<double>(o.token_ids[i]));
      ASSERT_EQ(o.logprobs[i].top.size(), 1u);
      EXPECT_EQ(o.logprobs[i].top[0].token_id, o.token_ids[i]);
    }
    all_ids.insert(all_ids.end(), o.token_ids.begin(), o.token_ids.end());
    if (r.finished()) break;
  }
  EXPECT_EQ(r.finish_reason(), FinishReason::kStop);
  EXPECT_EQ(all_text, "abENx\xC3\xA9");
  // The ids include the tokens that completed the stop string, as vLLM reports them.
  EXPECT_EQ(all_ids, r.output());
  EXPECT_EQ(all_ids.size(), std::string("abENx\xC3\xA9" "END").size());
  EXPECT_TRUE(r.take_output().logprobs.empty());  // nothing is reported twice
}

TEST_F(RequestStateTest, LogprobsSkipEosAndAreEmptyWhenOff) {
  SamplingParams p;
  p.logprobs = 0;
  RequestState r(1, {1}, p, tok_.get(), {258});
  r.on_token('a', 100, fake_logprobs('a'));
  r.on_token(258, 100, fake_logprobs(258));  // eos: no id, so no logprob either
  RequestOutput o = r.take_output();
  EXPECT_EQ(o.token_ids, std::vector<int32_t>{'a'});
  ASSERT_EQ(o.logprobs.size(), 1u);
  EXPECT_EQ(o.logprobs[0].logprob, -static_cast<double>('a'));
  p.logprobs = -1;
  RequestState off(2, {1}, p, tok_.get(), {258});
  off.on_token('a', 100, fake_logprobs('a'));
  o = off.take_output();
  EXPECT_EQ(o.token_ids.size(), 1u);
  EXPECT_TRUE(o.logprobs.empty());
}

// sample_rows draws the same tokens and logprobs on 1 thread and on 4: 8 seeded requests (top_k
// off, top-p, penalties, logprobs on half of them), 20 steps, each step's rows from one shared
// random logits matrix given to both sets.
TEST_F(RequestStateTest, SampleRowsIndependentOfThreads) {
  const int kReqs = 8, kVocab = 3000;
  std::vector<std::unique_ptr<RequestState>> one, four;
  for (int i = 0; i < kReqs; ++i) {
    SamplingParams p;
    p.temperature = 0.8f;
    p.top_p = 0.9f;
    p.repetition_penalty = i % 3 == 0 ? 1.3f : 1.0f;
    p.seed = 100 + i;
    p.logprobs = i % 2 == 0 ? 3 : -1;
    p.max_tokens = 1000;
    p.ignore_eos = true;
    one.push_back(std::make_unique<RequestState>(i, std::vector<int32_t>{1, 2, 3}, p, nullptr, std::vector<int32_t>{}));
    four.push_back(std::make_unique<RequestState>(i, std::vector<int32_t>{1, 2, 3}, p, nullptr, std::vector<int32_t>{}));
  }
  std::vector<RequestState*> a, b;
  for (int i = 0; i < kReqs; ++i) a.push_back(one[i].get()), b.push_back(four[i].get());
  std::mt19937 rng(8);
  std::normal_distribution<float> d(0.f, 2.f);
  for (int step = 0; step < 20; ++step) {
    std::vector<float> logits(static_cast<size_t>(kReqs) * kVocab);
    for (float& x : logits) x = d(rng);
    std::vector<float> copy = logits;
    DrawnTokens ra = sample_rows(a, logits, kVocab, 1), rb = sample_rows(b, copy, kVocab, 4);
    ASSERT_EQ(ra.tokens, rb.tokens) << "step " << step;
    for (int i = 0; i < kReqs; ++i) {
      ASSERT_EQ(ra.logprobs[i].logprob, rb.logprobs[i].logprob) << "step " << step << " request " << i;
      ASSERT_EQ(ra.logprobs[i].top.size(), i % 2 == 0 ? 3u : 0u);
      one[i]->on_token(ra.tokens[i], 1 << 20, ra.logprobs[i]);
      four[i]->on_token(rb.tokens[i], 1 << 20, rb.logprobs[i]);
    }
  }
  EXPECT_EQ(one[0]->output().size(), 20u);
}

}  // namespace
}  // namespace swaa
