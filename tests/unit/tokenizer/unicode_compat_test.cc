// After the pattern rewrite, PCRE2 classifies every code point exactly as Hugging Face's Oniguruma
// does for \p{L}, \p{N} and \s (tests/data/tokenizer/unicode_classes.json, dumped from `tokenizers`).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <gtest/gtest.h>

#include "tokenizer/unicode_compat.h"
#include "tokenizer/utf8.h"
#include "tokenizer_fixture.h"

namespace swaa::tok {
namespace {

TEST(UnicodeCompat, RewritesOnlyTheClassesItKnows) {
  const std::string p = onig_compatible_pattern(R"([^\r\n\p{L}\p{N}]?\p{L}+|\s+(?!\S)|\p{Lu}\d)");
  EXPECT_NE(p.find("[^\\r\\n\\p{L}"), std::string::npos);  // inside a class: items appended
  EXPECT_NE(p.find("(?![^\\x{9}-\\x{D}"), std::string::npos);  // \S outside a class: negated set
  EXPECT_NE(p.find("\\p{Lu}\\d"), std::string::npos);          // others untouched
  EXPECT_EQ(onig_compatible_pattern(R"(a\\s[\]x])"), R"(a\\s[\]x])");  // escaped backslash, literal ']'
}

TEST(UnicodeCompat, EveryCodePointMatchesOniguruma) {
  const auto& classes = test::fixture("unicode_classes.json");
  for (const char* name : {"L", "N", "s"}) {
    std::vector<char> want(0x110000, 0);
    for (const auto& r : classes[name]) {
      for (int c = r[0]; c <= r[1].get<int>(); ++c) want[c] = 1;
    }
    const std::string cls = std::string(name) == "s" ? "\\s" : std::string("\\p{") + name + "}";
    const std::string pat = onig_compatible_pattern("^" + cls + "$");
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(), PCRE2_UTF | PCRE2_UCP,
                                     &err, &off, nullptr);
    ASSERT_NE(code, nullptr) << pat;
    pcre2_match_data* md = pcre2_match_data_create(2, nullptr);
    size_t wrong = 0;
    for (char32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      std::string s;
      utf8_append(s, c);
      const bool got = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md, nullptr) > 0;
      if (got != static_cast<bool>(want[c]) && wrong++ < 5) {
        ADD_FAILURE() << cls << " U+" << std::hex << static_cast<uint32_t>(c) << ": PCRE2 " << got << ", Oniguruma "
                      << static_cast<int>(want[c]);
      }
    }
    EXPECT_EQ(wrong, 0u) << cls;
    pcre2_match_data_free(md);
    pcre2_code_free(code);
  }
}

}  // namespace
}  // namespace swaa::tok
