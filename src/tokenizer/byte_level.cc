// Byte-level alphabet tables; see byte_level.h.
#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace swaa::tok {
namespace {

struct Tables {
  std::array<std::string, 256> to_unicode;
  std::array<int, 0x144> to_byte{};  // code point -> byte, -1 when not in the alphabet
  Tables() {
    to_byte.fill(-1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(0x100 + next++);
      utf8_append(to_unicode[b], cp);
      to_byte[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() { return tables().to_unicode; }

void append_byte_level(std::string_view text, std::string& out) {
  const auto& t = tables().to_unicode;
  const size_t start = out.size();
  out.resize(start + text.size() * 2);
  char* p = out.data() + start;
  for (unsigned char c : text) {
    const std::string& u = t[c];  // 1 or 2 bytes
    *p++ = u[0];
    if (u.size() == 2) *p++ = u[1];
  }
  out.resize(static_cast<size_t>(p - out.data()));
}

std::string bytes_to_unicode_string(std::string_view text) {
  std::string out;
  append_byte_level(text, out);
  return out;
}

bool unicode_string_to_bytes(std::string_view token, std::string& out) {
  const auto& to_byte = tables().to_byte;
  const size_t start = out.size();
  size_t i = 0;
  while (i < token.size()) {
    const size_t len = utf8_valid_len(token, i);
    if (len == 0) break;
    const char32_t cp = utf8_decode_at(token, i, len);
    if (cp >= to_byte.size() || to_byte[cp] < 0) break;
    out.push_back(static_cast<char>(to_byte[cp]));
    i += len;
  }
  if (i == token.size()) return true;
  out.resize(start);
  return false;
}

}  // namespace swaa::tok
