// Python string semantics for the Jinja built-ins; see jinja_pystr.h.
#include "chat/jinja_pystr.h"

#include <algorithm>
#include <cctype>

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "chat/jinja_builtins.h"
#include "tokenizer/utf8.h"

namespace swaa::jinja {
namespace {

bool is_cased(UChar32 c) { return u_isULowercase(c) || u_isUUppercase(c) || u_charType(c) == U_TITLECASE_LETTER; }

std::string title_char(UChar32 c) {
  icu::UnicodeString u(c);
  u.toTitle(nullptr, icu::Locale::getRoot(), U_TITLECASE_NO_LOWERCASE | U_TITLECASE_NO_BREAK_ADJUSTMENT);
  std::string out;
  u.toUTF8String(out);
  return out;
}

}  // namespace

Status type_error(const std::string& what) { return invalid_argument(what); }

bool is_py_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Python str.strip/lstrip/rstrip; `chars` null means whitespace.
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
  auto in_set = [&](char c) {
    if (chars == nullptr || chars->is_none()) return is_py_space(c);
    return chars->as_string().find(c) != std::string::npos;
  };
  size_t b = 0, e = s.size();
  if (chars != nullptr && !chars->is_none() && !chars->as_string().empty()) {
    // multi-byte characters in `chars`: strip whole code points
    const std::string& set = chars->as_string();
    auto cp_in = [&](size_t i, size_t len) { return set.find(s.substr(i, len)) != std::string::npos; };
    while (left && b < e) {
      const size_t len = std::max<size_t>(1, tok::utf8_valid_len(s, b));
      if (!cp_in(b, len)) break;
      b += len;
    }
    while (right && e > b) {
      size_t st = e - 1;
      while (st > b && (static_cast<unsigned char>(s[st]) & 0xC0) == 0x80) --st;
      if (!cp_in(st, e - st)) break;
      e = st;
    }
    return s.substr(b, e - b);
  }
  while (left && b < e && in_set(s[b])) ++b;
  while (right && e > b && in_set(s[e - 1])) --e;
  return s.substr(b, e - b);
}

List py_split(const std::string& s, const Value* sep, int64_t maxsplit) {
  List out;
  if (sep == nullptr || sep->is_none()) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_py_space(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        size_t e = s.size();
        while (e > i && is_py_space(s[e - 1])) --e;
        out.emplace_back(s.substr(i, e - i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_py_space(s[j])) ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  const std::string& d = sep->as_string();
  size_t pos = 0;
  while (true) {
    const size_t hit = (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) ? std::string::npos
                                                                                       : s.find(d, pos);
    if (hit == std::string::npos || d.empty()) {
      out.emplace_back(s.substr(pos));
      break;
    }
    out.emplace_back(s.substr(pos, hit - pos));
    pos = hit + d.size();
  }
  return out;
}

std::string py_replace(const std::string& s, const std::string& a, const std::string& b, int64_t count) {
  std::string out;
  size_t pos = 0;
  int64_t n = 0;
  if (a.empty()) return s;
  for (size_t hit; (count < 0 || n < count) && (hit = s.find(a, pos)) != std::string::npos; ++n) {
    out.append(s, pos, hit - pos);
    out += b;
    pos = hit + a.size();
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// Python str.upper()/lower(): full Unicode case mapping (ICU, root locale; "ß".upper() == "SS").
std::string ascii_case(const std::string& s, bool upper) {
  bool ascii = true;
  for (unsigned char c : s) ascii = ascii && c < 0x80;
  if (ascii) {
    std::string out = s;
    for (char& c : out) c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                                    : std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  if (upper) u.toUpper(icu::Locale::getRoot());
  else u.toLower(icu::Locale::getRoot());
  std::string out;
  u.toUTF8String(out);
  return out;
}


// Python str.title(): a cased character after an uncased one is title-cased, others lowered.
std::string py_title(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  for (size_t i = 0; i < s.size();) {
    const size_t len = std::max<size_t>(1, tok::utf8_valid_len(s, i));
    const UChar32 c = static_cast<UChar32>(tok::utf8_decode_at(s, i, len));
    const std::string ch = s.substr(i, len);
    if (is_cased(c)) {
      out += prev_cased ? ascii_case(ch, false) : title_char(c);
      prev_cased = true;
    } else {
      out += ch;
      prev_cased = false;
    }
    i += len;
  }
  return out;
}

// Python str.capitalize(): first character title-cased, the rest lowered.
std::string py_capitalize(const std::string& s) {
  if (s.empty()) return s;
  const size_t len = std::max<size_t>(1, tok::utf8_valid_len(s, 0));
  return title_char(static_cast<UChar32>(tok::utf8_decode_at(s, 0, len))) + ascii_case(s.substr(len), false);
}

// Jinja's `title` filter: split on runs of [-\s({\[<], upper-case each piece's first character.
std::string jinja_title(const std::string& s) {
  auto is_sep = [](char c) { return c == '-' || is_py_space(c) || c == '(' || c == '{' || c == '[' || c == '<'; };
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (is_sep(s[i])) {
      out.push_back(s[i++]);
      continue;
    }
    size_t j = i;
    while (j < s.size() && !is_sep(s[j])) ++j;
    const std::string word = s.substr(i, j - i);
    const size_t len = std::max<size_t>(1, tok::utf8_valid_len(word, 0));
    out += ascii_case(word.substr(0, len), true) + ascii_case(word.substr(len), false);
    i = j;
  }
  return out;
}

Result<List> to_list(const Value& v, const char* who) {
  if (v.is_list()) return v.list();
  if (v.is_dict()) {
    List l;
    for (const auto& kv : v.dict().items) l.emplace_back(kv.first);
    return l;
  }
  if (v.is_string()) {
    List l;
    const std::string& s = v.as_string();
    for (size_t i = 0; i < s.size();) {
      const size_t len = std::max<size_t>(1, tok::utf8_valid_len(s, i));
      l.emplace_back(s.substr(i, len));
      i += len;
    }
    return l;
  }
  if (v.is_undefined()) return List{};
  return type_error(std::string(who) + ": '" + v.type_name() + "' object is not iterable");
}

int64_t py_len(const Value& v) {
  if (v.is_string()) {
    int64_t n = 0;
    for (unsigned char c : v.as_string()) n += (c & 0xC0) != 0x80;
    return n;
  }
  if (v.is_list()) return static_cast<int64_t>(v.list().size());
  if (v.is_dict()) return static_cast<int64_t>(v.dict().items.size());
  return 0;
}

// Python ordering for sort/min/max/compare: numbers, strings, lists.
int py_compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.as_float(), y = b.as_float();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.as_string().compare(b.as_string()) < 0 ? -1 : a.as_string() == b.as_string() ? 0 : 1;
  return 0;
}

Value attr_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (true) {
    const size_t dot = path.find('.', pos);
    cur = get_attr(cur, path.substr(pos, dot - pos));
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

Value make_fn(const std::string& name, std::function<Result<Value>(const Args&)> fn) {
  auto c = std::make_shared<Callable>();
  c->name = name;
  c->fn = std::move(fn);
  return Value(std::move(c));
}

}  // namespace swaa::jinja
