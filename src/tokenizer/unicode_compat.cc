// Pattern rewrite; see unicode_compat.h.
#include "tokenizer/unicode_compat.h"

#include <cstdio>

namespace swaa::tok {
namespace {

struct CodeRange {
  unsigned first, last;
};
#include "tokenizer/unicode_compat_tables.inc"

template <size_t N>
std::string class_items(const CodeRange (&ranges)[N]) {
  std::string out;
  char buf[40];
  for (const CodeRange& r : ranges) {
    if (r.first == r.last) std::snprintf(buf, sizeof(buf), "\\x{%X}", r.first);
    else std::snprintf(buf, sizeof(buf), "\\x{%X}-\\x{%X}", r.first, r.last);
    out += buf;
  }
  return out;
}

}  // namespace

std::string onig_compatible_pattern(const std::string& pattern) {
  static const std::string letters = "\\p{L}" + class_items(kExtraL);
  static const std::string numbers = "\\p{N}" + class_items(kExtraN);
  static const std::string spaces = class_items(kWhiteSpace);
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const std::string_view rest(pattern.data() + i, pattern.size() - i);
      const char* items = nullptr;
      bool negate = false;
      size_t len = 2;
      if (rest.substr(0, 5) == "\\p{L}") {
        items = letters.c_str();
        len = 5;
      } else if (rest.substr(0, 5) == "\\p{N}") {
        items = numbers.c_str();
        len = 5;
      } else if (rest.substr(0, 2) == "\\s") {
        items = spaces.c_str();
      } else if (rest.substr(0, 2) == "\\S" && !in_class) {
        items = spaces.c_str();
        negate = true;
      }
      if (items != nullptr) {
        if (in_class) out += items;
        else out += std::string(negate ? "[^" : "[") + items + "]";
      } else {
        out.append(pattern, i, 2);  // any other escape, kept verbatim
      }
      i += len - 1;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // literal ']' first
      continue;
    }
    if (in_class && c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {  // [:alpha:]
      const size_t end = pattern.find(":]", i + 2);
      if (end != std::string::npos) {
        out.append(pattern, i, end + 2 - i);
        i = end + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace swaa::tok
