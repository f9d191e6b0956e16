// GPT-2 byte-level alphabet: every byte maps to one printable code point (printable Latin-1 bytes
// map to themselves, the other 68 to U+0100..U+0143 in order), so any byte string becomes a
// string of vocabulary characters and back. Tests: tests/unit/tokenizer/byte_level_test.cc
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace swaa::tok {

// UTF-8 of the code point that byte b maps to.
const std::array<std::string, 256>& byte_to_unicode();

// Maps the bytes of `text` to the byte-level alphabet (UTF-8 result).
std::string bytes_to_unicode_string(std::string_view text);

// Appends the byte-level form of `text` to `out`.
void append_byte_level(std::string_view text, std::string& out);

// Inverse: returns false when `token` holds a character outside the alphabet (the bytes are then
// left unchanged in `out`).
bool unicode_string_to_bytes(std::string_view token, std::string& out);

}  // namespace swaa::tok
