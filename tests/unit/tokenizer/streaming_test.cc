// StreamingDetokenizer: over the whole corpus and every real tokenizer, feeding ids one by one
// emits only valid UTF-8 pieces whose concatenation (plus finish()) equals decode(all ids), with
// and without skip_special_tokens; also random id streams (invalid byte sequences); token_bytes is
// decode of one token without the U+FFFD repair, for every id.
#include <gtest/gtest.h>

#include <random>

#include "tokenizer/utf8.h"
#include "tokenizer_fixture.h"

namespace swaa {
namespace {

void check_stream(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip, const std::string& where) {
  StreamingDetokenizer stream(tok, skip);
  std::string all;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string piece = stream.push(ids[i]);
    ASSERT_EQ(tok::utf8_first_invalid(piece), std::string::npos) << where << " after id #" << i;
    all += piece;
  }
  const std::string tail = stream.finish();
  ASSERT_EQ(tok::utf8_first_invalid(tail), std::string::npos) << where;
  all += tail;
  ASSERT_EQ(all, tok.decode(ids, skip)) << where;
}

class Streaming : public ::testing::TestWithParam<std::string> {};

TEST_P(Streaming, CorpusConcatenationEqualsDecode) {
  const Tokenizer& tok = test::real_tokenizer(GetParam());
  const auto& fx = test::fixture("encode_" + GetParam() + ".json");
  for (size_t i = 0; i < fx["ids"].size(); ++i) {
    const auto ids = fx["ids"][i].get<std::vector<int32_t>>();
    check_stream(tok, ids, false, GetParam() + " string " + std::to_string(i));
    check_stream(tok, ids, true, GetParam() + " string " + std::to_string(i) + " (skip special)");
  }
}

TEST_P(Streaming, RandomIdsNeverBreakUtf8) {
  const Tokenizer& tok = test::real_tokenizer(GetParam());
  std::mt19937 rng(1234);  // seed printed by the failure message via `where`
  std::uniform_int_distribution<int32_t> id(0, tok.vocab_size() - 1);
  for (int n = 0; n < 300; ++n) {
    std::vector<int32_t> ids(1 + n % 40);
    for (auto& x : ids) x = id(rng);
    check_stream(tok, ids, false, GetParam() + " random stream " + std::to_string(n) + " (seed 1234)");
  }
}

// A multi-byte character split over byte tokens is held back until complete.
TEST(StreamingDetokenizer, HoldsIncompleteCharacter) {
  const Tokenizer& tok = test::real_tokenizer("llama2");
  auto ids = tok.encode("\xF0\x9F\x98\x80");  // an emoji absent from the vocab: 4 byte-fallback tokens
  ASSERT_TRUE(ids.ok());
  StreamingDetokenizer stream(tok);
  std::string out;
  for (size_t i = 0; i + 1 < ids->size(); ++i) out += stream.push((*ids)[i]);
  EXPECT_EQ(out.find("\xEF\xBF\xBD"), std::string::npos) << "emitted a replacement char for a partial character";
  out += stream.push(ids->back());
  out += stream.finish();
  EXPECT_EQ(out, tok.decode(*ids));
}

// token_bytes(id) is the raw bytes behind decode({id}): equal whenever that is valid UTF-8, and
// repaired the same way otherwise. Byte-level vocabularies hold tokens that are parts of characters.
TEST_P(Streaming, TokenBytesAreDecodeWithoutRepair) {
  const Tokenizer& tok = test::real_tokenizer(GetParam());
  int partial = 0;
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    const std::string bytes = tok.token_bytes(id);
    const std::string text = tok.decode(std::vector<int32_t>{id});
    ASSERT_EQ(tok::utf8_lossy(bytes), text) << GetParam() << " id " << id;
    partial += tok::utf8_first_invalid(bytes) != std::string::npos;
  }
  EXPECT_GT(partial, 0) << GetParam() << ": expected some tokens holding part of a character";
}

TEST(TokenBytes, ByteFallbackTokensGiveTheirByte) {
  const Tokenizer& tok = test::real_tokenizer("llama2");
  const std::string crab = "\xF0\x9F\xA6\x80";  // U+1F980, absent from Llama 2's vocabulary
  auto ids = tok.encode(crab);
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids->size(), 4u);
  std::string joined;
  for (size_t i = ids->size() - 4; i < ids->size(); ++i) {
    const int32_t id = (*ids)[i];
    const std::string b = tok.token_bytes(id);
    EXPECT_EQ(b.size(), 1u) << "id " << id;
    EXPECT_EQ(tok.decode(std::vector<int32_t>{id}), "\xEF\xBF\xBD") << "id " << id;
    joined += b;
  }
  EXPECT_EQ(joined, crab);
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, Streaming, ::testing::Values("qwen3", "llama3", "llama2"));

}  // namespace
}  // namespace swaa
