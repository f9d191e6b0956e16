// RequestState output processing with a byte tokenizer: stop strings are never split across
// outputs and never emitted; held-back text is flushed at the end; eos and max_tokens stop.
#include "engine/request_state.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace swaa
