// UTF-8 helpers shared by the tokenizer and the streaming detokenizer: code point iteration,
// validation, encoding, and Rust-compatible lossy decoding (one U+FFFD per maximal invalid subpart,
// exactly what Hugging Face's `String::from_utf8_lossy` produces).
// Tests: tests/unit/tokenizer/utf8_test.cc
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace swaa::tok {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Length of the valid sequence starting at s[i] (1..4), or 0 when s[i] starts an invalid or
// truncated sequence.
size_t utf8_valid_len(std::string_view s, size_t i);

// Decodes the valid sequence at s[i] (caller checked utf8_valid_len > 0).
char32_t utf8_decode_at(std::string_view s, size_t i, size_t len);

// Offset of the first invalid byte, or npos when `s` is valid UTF-8.
size_t utf8_first_invalid(std::string_view s);

void utf8_append(std::string& out, char32_t cp);

// Replaces invalid sequences by U+FFFD, one per maximal subpart (Unicode §3.9 / Rust / WHATWG).
std::string utf8_lossy(std::string_view bytes);

// Length of the longest prefix of `s` that ends on a boundary where an incomplete (but so far
// valid) multi-byte sequence does not straddle the end. Invalid bytes count as complete.
size_t utf8_complete_prefix(std::string_view s);

}  // namespace swaa::tok
