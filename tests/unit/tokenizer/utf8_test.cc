// UTF-8 helpers: validation, Rust-compatible lossy decoding, incomplete-suffix detection, and the
// byte-level alphabet round trip.
#include <gtest/gtest.h>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace swaa::tok {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidationFindsFirstBadByte) {
  EXPECT_EQ(utf8_first_invalid("plain ascii"), std::string_view::npos);
  EXPECT_EQ(utf8_first_invalid("caf\xC3\xA9 \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(utf8_first_invalid("ab\xFF"), 2u);
  EXPECT_EQ(utf8_first_invalid("\xC0\x80"), 0u);          // overlong
  EXPECT_EQ(utf8_first_invalid("x\xED\xA0\x80"), 1u);     // surrogate
  EXPECT_EQ(utf8_first_invalid("\xF4\x90\x80\x80"), 0u);  // > U+10FFFF
  EXPECT_EQ(utf8_first_invalid("\xE2\x82"), 0u);          // truncated
}

TEST(Utf8, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("ok"), "ok");
  EXPECT_EQ(utf8_lossy("\xE2\x82"), kFffd);                         // one truncated sequence -> one U+FFFD
  EXPECT_EQ(utf8_lossy("\xE2\x82x"), kFffd + "x");
  EXPECT_EQ(utf8_lossy("\xFF\xFE"), kFffd + kFffd);                 // two invalid bytes
  EXPECT_EQ(utf8_lossy("\xF0\x9F\x98"), kFffd);                     // 3 of 4 bytes
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), kFffd + kFffd + kFffd);     // surrogate: each byte
  EXPECT_EQ(utf8_lossy("a\x80" "b"), "a" + kFffd + "b");
}

TEST(Utf8, CompletePrefixHoldsBackOnlyIncompleteTail) {
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("ab\xE2\x82"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xE2\x82\xAC"), 5u);
  EXPECT_EQ(utf8_complete_prefix("ab\xF0"), 2u);
  EXPECT_EQ(utf8_complete_prefix("ab\xFF"), 3u);  // invalid, not incomplete
}

TEST(ByteLevel, AlphabetRoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string mapped = bytes_to_unicode_string(all);
  EXPECT_EQ(utf8_first_invalid(mapped), std::string_view::npos);
  std::string back;
  ASSERT_TRUE(unicode_string_to_bytes(mapped, back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(bytes_to_unicode_string(" "), "\xC4\xA0");  // 'Ġ'
  EXPECT_EQ(bytes_to_unicode_string("\n"), "\xC4\x8A");  // 'Ċ'
  std::string none;
  EXPECT_FALSE(unicode_string_to_bytes("\xE2\x96\x81", none));  // '▁' is not in the alphabet
}

}  // namespace
}  // namespace swaa::tok
