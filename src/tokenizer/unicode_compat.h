// Makes PCRE2 classify characters like Hugging Face's Oniguruma: rewrites \p{L}, \p{N}, \s and \S
// in a pre-tokenizer pattern to add the letters and digits of newer Unicode versions that this
// PCRE2 lacks, and to use Oniguruma's exact white-space set (which has no U+180E).
// Tables: unicode_compat_tables.inc (generated). Test: tests/unit/tokenizer/unicode_compat_test.cc
#pragma once

#include <string>

namespace swaa::tok {

std::string onig_compatible_pattern(const std::string& pattern);

}  // namespace swaa::tok
