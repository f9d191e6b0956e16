// Exact parity with Hugging Face `tokenizers` 0.23 on the real Qwen3, Llama 3 and Llama 2 files:
// encode (with and without special tokens) and decode of the 2,051-string corpus, and decode of
// random id lists. Fixtures: tests/data/tokenizer/{corpus,encode_*}.json.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tokenizer_fixture.h"

namespace swaa {
namespace {

using test::fixture;
using test::real_tokenizer;

std::string show(const std::string& s) { return nlohmann::json(s).dump().substr(0, 200); }

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, EncodeCorpus) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  const auto& strings = fixture("corpus.json")["strings"];
  const auto& expected = fixture("encode_" + GetParam() + ".json")["ids"];
  ASSERT_EQ(strings.size(), expected.size());
  ASSERT_GE(strings.size(), 2000u);
  size_t matched = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string s = strings[i].get<std::string>();
    auto ids = tok.encode(s);
    ASSERT_TRUE(ids.ok()) << ids.status().message();
    const auto want = expected[i].get<std::vector<int32_t>>();
    if (*ids == want) {
      ++matched;
    } else {
      ADD_FAILURE() << GetParam() << " string " << i << " " << show(s) << "\n got " << nlohmann::json(*ids).dump()
                    << "\nwant " << nlohmann::json(want).dump();
    }
  }
  std::printf("[parity] %s encode: %zu/%zu strings exact\n", GetParam().c_str(), matched, strings.size());
}

TEST_P(Parity, EncodeWithSpecialTokens) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  const auto& strings = fixture("corpus.json")["strings"];
  const auto& expected = fixture("encode_" + GetParam() + ".json")["ids_with_special_first64"];
  for (size_t i = 0; i < expected.size(); ++i) {
    auto ids = tok.encode(strings[i].get<std::string>(), /*add_special_tokens=*/true);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, expected[i].get<std::vector<int32_t>>()) << "string " << i;
  }
}

TEST_P(Parity, DecodeCorpus) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  const auto& strings = fixture("corpus.json")["strings"];
  const auto& fx = fixture("encode_" + GetParam() + ".json");
  size_t matched = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const auto ids = fx["ids"][i].get<std::vector<int32_t>>();
    const std::string want = fx["decode"][i].is_null() ? strings[i].get<std::string>() : fx["decode"][i].get<std::string>();
    const std::string want_skip =
        fx["decode_skip_special"][i].is_null() ? want : fx["decode_skip_special"][i].get<std::string>();
    const std::string got = tok.decode(ids), got_skip = tok.decode(ids, /*skip_special_tokens=*/true);
    EXPECT_EQ(got, want) << "string " << i;
    EXPECT_EQ(got_skip, want_skip) << "string " << i << " (skip_special_tokens)";
    matched += got == want && got_skip == want_skip;
  }
  std::printf("[parity] %s decode: %zu/%zu strings exact\n", GetParam().c_str(), matched, strings.size());
}

TEST_P(Parity, DecodeRandomIds) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  for (const auto& c : fixture("encode_" + GetParam() + ".json")["random_decode"]) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.decode(ids), c["text"].get<std::string>()) << c["ids"].dump();
    EXPECT_EQ(tok.decode(ids, true), c["text_skip"].get<std::string>()) << c["ids"].dump();
  }
}

// One Tokenizer shared by 4 threads (the server's case): same ids as single-threaded HF.
TEST_P(Parity, ConcurrentEncodeIsExact) {
  const Tokenizer& tok = real_tokenizer(GetParam());
  const auto& strings = fixture("corpus.json")["strings"];
  const auto& expected = fixture("encode_" + GetParam() + ".json")["ids"];
  std::vector<size_t> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = t; i < strings.size(); i += 2) {  // overlapping halves: shared cache entries
        auto ids = tok.encode(strings[i].get<std::string>());
        if (!ids.ok() || *ids != expected[i].get<std::vector<int32_t>>()) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0u) << "thread " << t;
}

INSTANTIATE_TEST_SUITE_P(RealTokenizers, Parity, ::testing::Values("qwen3", "llama3", "llama2"));

}  // namespace
}  // namespace swaa
