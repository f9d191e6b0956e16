// Jinja built-ins; see jinja_builtins.h.
#include "chat/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "tokenizer/utf8.h"

namespace swaa::jinja {
namespace {

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

bool is_cased(UChar32 c) { return u_isULowercase(c) || u_isUUppercase(c) || u_charType(c) == U_TITLECASE_LETTER; }

std::string title_char(UChar32 c) {
  icu::UnicodeString u(c);
  u.toTitle(nullptr, icu::Locale::getRoot(), U_TITLECASE_NO_LOWERCASE | U_TITLECASE_NO_BREAK_ADJUSTMENT);
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

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().find(name)) return *v;
  }
  if (auto m = method(obj, name)) return *m;
  if (obj.is_list()) {  // numeric attribute: foo.0
    char* end = nullptr;
    const long idx = std::strtol(name.c_str(), &end, 10);
    if (end != name.c_str() && *end == '\0' && idx >= 0 && idx < static_cast<long>(obj.list().size())) {
      return obj.list()[static_cast<size_t>(idx)];
    }
  }
  return Value::undefined(name);
}

Result<Value> get_item(const Value& obj, const Value& key) {
  if (obj.is_dict()) {
    if (key.is_string()) {
      if (const Value* v = obj.dict().find(key.as_string())) return *v;
      if (auto m = method(obj, key.as_string())) return *m;
    }
    return Value::undefined(key.str());
  }
  if (obj.is_list() || obj.is_string()) {
    if (!key.is_int()) {
      if (key.is_string()) return get_attr(obj, key.as_string());
      return type_error("indices must be integers, not " + key.type_name());
    }
    if (obj.is_list()) {
      int64_t i = key.as_int();
      const int64_t n = static_cast<int64_t>(obj.list().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("[" + key.str() + "]");
      return obj.list()[static_cast<size_t>(i)];
    }
    SWAA_ASSIGN_OR_RETURN(List chars, to_list(obj, "index"));
    int64_t i = key.as_int();
    const int64_t n = static_cast<int64_t>(chars.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("[" + key.str() + "]");
    return chars[static_cast<size_t>(i)];
  }
  if (obj.is_undefined()) {
    return invalid_argument("'" + obj.undefined_name() + "' is undefined (indexing it with " + key.repr() + ")");
  }
  return Value::undefined(key.str());
}

std::optional<Value> method(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    const std::string s = obj.as_string();
    static const std::set<std::string> kStr = {"strip", "lstrip", "rstrip", "split", "startswith", "endswith",
                                               "upper", "lower", "title", "capitalize", "replace", "find",
                                               "count", "join", "isdigit", "isalpha", "isspace", "splitlines"};
    if (!kStr.count(name)) return std::nullopt;
    return make_fn("str." + name, [s, name](const Args& a) -> Result<Value> {
      const Value* a0 = a.get(0, name == "split" ? "sep" : "chars");
      if (name == "strip") return Value(py_strip(s, a0, true, true));
      if (name == "lstrip") return Value(py_strip(s, a0, true, false));
      if (name == "rstrip") return Value(py_strip(s, a0, false, true));
      if (name == "split") {
        const Value* m = a.get(1, "maxsplit");
        return Value(py_split(s, a0, m ? m->as_int() : -1));
      }
      if (name == "startswith" || name == "endswith") {
        if (a0 == nullptr) return type_error(name + "() takes at least 1 argument");
        List cands = a0->is_list() ? a0->list() : List{*a0};
        for (const Value& c : cands) {
          const std::string& p = c.as_string();
          const bool hit = name == "startswith" ? s.compare(0, p.size(), p) == 0
                                                : (s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0);
          if (hit) return Value(true);
        }
        return Value(false);
      }
      if (name == "upper" || name == "lower") return Value(ascii_case(s, name == "upper"));
      if (name == "title") return Value(py_title(s));
      if (name == "capitalize") return Value(py_capitalize(s));
      if (name == "replace") {
        if (a.pos.size() < 2) return type_error("replace() takes at least 2 arguments");
        const Value* c = a.get(2, "count");
        return Value(py_replace(s, a.pos[0].as_string(), a.pos[1].as_string(), c ? c->as_int() : -1));
      }
      if (name == "find") {
        if (a0 == nullptr) return type_error("find() takes at least 1 argument");
        const size_t p = s.find(a0->as_string());
        return Value(p == std::string::npos ? int64_t{-1} : py_len(Value(s.substr(0, p))));
      }
      if (name == "count") {
        if (a0 == nullptr || a0->as_string().empty()) return type_error("count() takes a non-empty substring");
        int64_t n = 0;
        for (size_t p = s.find(a0->as_string()); p != std::string::npos; p = s.find(a0->as_string(), p + a0->as_string().size())) ++n;
        return Value(n);
      }
      if (name == "join") {
        if (a0 == nullptr) return type_error("join() takes 1 argument");
        SWAA_ASSIGN_OR_RETURN(List items, to_list(*a0, "join"));
        std::string out;
        for (size_t i = 0; i < items.size(); ++i) out += (i ? s : "") + items[i].str();
        return Value(out);
      }
      if (name == "splitlines") {
        Value nl("\n");
        List l = py_split(s, &nl, -1);
        if (!l.empty() && l.back().as_string().empty()) l.pop_back();
        return Value(std::move(l));
      }
      bool all = !s.empty();
      for (unsigned char c : s) {
        all = all && (name == "isdigit" ? std::isdigit(c) : name == "isalpha" ? std::isalpha(c) : std::isspace(c));
      }
      return Value(all);
    });
  }
  if (obj.is_dict() && !obj.dict().is_namespace) {
    static const std::set<std::string> kDict = {"items", "keys", "values", "get"};
    if (!kDict.count(name)) return std::nullopt;
    return make_fn("dict." + name, [obj, name](const Args& a) -> Result<Value> {
      List out;
      if (name == "get") {
        const Value* k = a.get(0, "key");
        if (k == nullptr) return type_error("get() takes at least 1 argument");
        if (const Value* v = obj.dict().find(k->str())) return *v;
        const Value* d = a.get(1, "default");
        return d ? *d : Value::none();
      }
      for (const auto& [k, v] : obj.dict().items) {
        if (name == "items") out.emplace_back(List{Value(k), v});
        else if (name == "keys") out.emplace_back(k);
        else out.push_back(v);
      }
      return Value(std::move(out));
    });
  }
  return std::nullopt;
}

Result<bool> apply_test(const std::string& name, const Value& v, const Args& args) {
  const Value* a0 = args.get(0, "value");
  auto need = [&]() -> Status {
    return a0 ? Status() : type_error("test '" + name + "' needs an argument");
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number() && !v.is_bool();
  if (name == "integer") return v.type() == Value::Type::kInt;
  if (name == "float") return v.type() == Value::Type::kFloat;
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "callable") return v.is_callable();
  if (name == "lower") return v.is_string() && ascii_case(v.as_string(), false) == v.as_string();
  if (name == "upper") return v.is_string() && ascii_case(v.as_string(), true) == v.as_string();
  if (name == "odd" || name == "even") {
    if (!v.is_int()) return type_error("test '" + name + "' needs an integer, got " + v.type_name());
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    SWAA_RETURN_IF_ERROR(need());
    if (a0->as_int() == 0) return type_error("divisibleby 0");
    return v.as_int() % a0->as_int() == 0;
  }
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") {
    SWAA_RETURN_IF_ERROR(need());
    return v.equals(*a0);
  }
  if (name == "ne" || name == "!=") {
    SWAA_RETURN_IF_ERROR(need());
    return !v.equals(*a0);
  }
  if (name == "lt" || name == "gt" || name == "le" || name == "ge" || name == "<" || name == ">" || name == "<=" ||
      name == ">=") {
    SWAA_RETURN_IF_ERROR(need());
    const int c = py_compare(v, *a0);
    if (name == "lt" || name == "<") return c < 0;
    if (name == "gt" || name == ">") return c > 0;
    if (name == "le" || name == "<=") return c <= 0;
    return c >= 0;
  }
  if (name == "in") {
    SWAA_RETURN_IF_ERROR(need());
    if (a0->is_string()) return v.is_string() && a0->as_string().find(v.as_string()) != std::string::npos;
    if (a0->is_dict()) return v.is_string() && a0->dict().find(v.as_string()) != nullptr;
    if (a0->is_list()) {
      for (const Value& x : a0->list()) {
        if (x.equals(v)) return true;
      }
    }
    return false;
  }
  return invalid_argument("unsupported test '" + name + "'");
}

Result<Value> apply_filter(const std::string& name, const Value& v, const Args& args) {
  const Value* a0 = args.pos.empty() ? nullptr : &args.pos[0];
  if (name == "trim") {
    if (!v.is_string()) return type_error("filter 'trim' needs a string, got " + v.type_name());
    return Value(py_strip(v.as_string(), args.get(0, "chars"), true, true));
  }
  if (name == "upper" || name == "lower") return Value(ascii_case(v.str(), name == "upper"));
  if (name == "capitalize") return Value(py_capitalize(v.str()));
  if (name == "title") return Value(jinja_title(v.str()));
  if (name == "string") return Value(v.str());
  if (name == "replace") {
    if (args.pos.size() < 2) return type_error("filter 'replace' needs old and new strings");
    const Value* c = args.get(2, "count");
    return Value(py_replace(v.str(), args.pos[0].str(), args.pos[1].str(), c && !c->is_none() ? c->as_int() : -1));
  }
  if (name == "safe" || name == "e" || name == "escape") {
    if (name == "safe") return v;
    std::string out;
    for (char c : v.str()) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out.push_back(c);
      }
    }
    return Value(out);
  }
  if (name == "length" || name == "count") {
    if (!(v.is_string() || v.is_list() || v.is_dict())) return type_error("object of type '" + v.type_name() + "' has no len()");
    return Value(py_len(v));
  }
  if (name == "tojson") {
    const Value* ind = args.get(0, "indent");
    const Value* sk = args.get(99, "sort_keys");
    const Value* seps = args.get(99, "separators");
    const int indent = (ind && !ind->is_none()) ? static_cast<int>(ind->as_int()) : -1;
    std::string item_sep = indent >= 0 ? "," : ", ", key_sep = ": ";
    if (seps && seps->is_list() && seps->list().size() == 2) {
      item_sep = seps->list()[0].as_string();
      key_sep = seps->list()[1].as_string();
    }
    std::string out;
    SWAA_RETURN_IF_ERROR(v.to_json(out, indent, item_sep, key_sep, sk && sk->truthy()));
    return Value(out);
  }
  if (name == "default" || name == "d") {
    const Value* b = args.get(1, "boolean");
    const bool use = v.is_undefined() || (b && b->truthy() && !v.truthy());
    return use ? (a0 ? *a0 : Value("")) : v;
  }
  if (name == "int") {
    if (v.is_string()) {
      try {
        return Value(static_cast<int64_t>(std::stoll(v.as_string())));
      } catch (...) {
        try {
          return Value(static_cast<int64_t>(std::stod(v.as_string())));
        } catch (...) {
          return a0 ? *a0 : Value(int64_t{0});
        }
      }
    }
    return v.is_number() ? Value(v.as_int()) : (a0 ? *a0 : Value(int64_t{0}));
  }
  if (name == "float") {
    if (v.is_string()) {
      try {
        return Value(std::stod(v.as_string()));
      } catch (...) {
        return a0 ? *a0 : Value(0.0);
      }
    }
    return v.is_number() ? Value(v.as_float()) : (a0 ? *a0 : Value(0.0));
  }
  if (name == "abs") return v.type() == Value::Type::kFloat ? Value(std::fabs(v.as_float())) : Value(static_cast<int64_t>(std::llabs(v.as_int())));
  if (name == "round") {
    const Value* p = args.get(0, "precision");
    const double m = std::pow(10.0, p ? static_cast<double>(p->as_int()) : 0.0);
    return Value(std::round(v.as_float() * m) / m);
  }
  if (name == "items" || name == "dictsort") {
    if (!v.is_dict()) return type_error("filter '" + name + "' needs a mapping, got " + v.type_name());
    List out;
    for (const auto& [k, x] : v.dict().items) out.emplace_back(List{Value(k), x});
    if (name == "dictsort") {
      std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
        return ascii_case(a.list()[0].as_string(), false) < ascii_case(b.list()[0].as_string(), false);
      });
    }
    return Value(std::move(out));
  }
  SWAA_ASSIGN_OR_RETURN(List items, to_list(v, ("filter '" + name + "'").c_str()));
  if (name == "list") return Value(std::move(items));
  if (name == "first") return items.empty() ? Value::undefined("first") : items.front();
  if (name == "last") return items.empty() ? Value::undefined("last") : items.back();
  if (name == "reverse") {
    if (v.is_string()) {
      std::string out;
      for (auto it = items.rbegin(); it != items.rend(); ++it) out += it->as_string();
      return Value(out);
    }
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "join") {
    const Value* attr = args.get(1, "attribute");
    std::string sep = a0 && a0->is_string() ? a0->as_string() : "";
    if (const Value* d = args.get(0, "d"); d && d->is_string()) sep = d->as_string();
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      out += (i ? sep : "") + (attr ? attr_path(items[i], attr->str()).str() : items[i].str());
    }
    return Value(out);
  }
  if (name == "sum") {
    const Value* attr = args.get(0, "attribute");
    const Value* start = args.get(1, "start");
    bool is_float = start && start->type() == Value::Type::kFloat;
    double f = start ? start->as_float() : 0;
    int64_t n = start ? start->as_int() : 0;
    for (const Value& x0 : items) {
      const Value x = attr ? attr_path(x0, attr->str()) : x0;
      if (!x.is_number()) return type_error("filter 'sum': cannot add " + x.type_name());
      is_float = is_float || x.type() == Value::Type::kFloat;
      f += x.as_float();
      n += x.as_int();
    }
    return is_float ? Value(f) : Value(n);
  }
  if (name == "min" || name == "max") {
    if (items.empty()) return Value::undefined(name);
    Value best = items[0];
    for (const Value& x : items) {
      const int c = py_compare(x, best);
      if ((name == "min" && c < 0) || (name == "max" && c > 0)) best = x;
    }
    return best;
  }
  if (name == "unique") {
    List out;
    for (const Value& x : items) {
      bool seen = false;
      for (const Value& y : out) seen = seen || y.equals(x);
      if (!seen) out.push_back(x);
    }
    return Value(std::move(out));
  }
  if (name == "sort") {
    const Value* rev = args.get(0, "reverse");
    const Value* attr = args.get(2, "attribute");
    std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
      const Value x = attr ? attr_path(a, attr->str()) : a, y = attr ? attr_path(b, attr->str()) : b;
      return py_compare(x, y) < 0;
    });
    if (rev && rev->truthy()) std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "map") {
    List out;
    const Value* attr = args.get(99, "attribute");
    if (attr) {
      const Value* def = args.get(99, "default");
      for (const Value& x : items) {
        Value y = attr_path(x, attr->str());
        out.push_back(y.is_undefined() && def ? *def : y);
      }
      return Value(std::move(out));
    }
    if (!a0 || !a0->is_string()) return type_error("filter 'map' needs a filter name or attribute=");
    Args rest;
    rest.pos.assign(args.pos.begin() + 1, args.pos.end());
    rest.kw = args.kw;
    for (const Value& x : items) {
      SWAA_ASSIGN_OR_RETURN(Value y, apply_filter(a0->as_string(), x, rest));
      out.push_back(std::move(y));
    }
    return Value(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    const bool by_attr = name == "selectattr" || name == "rejectattr";
    const bool keep_if = name == "select" || name == "selectattr";
    size_t k = 0;
    std::string attr;
    if (by_attr) {
      if (args.pos.empty()) return type_error("filter '" + name + "' needs an attribute name");
      attr = args.pos[k++].str();
    }
    std::string test = k < args.pos.size() ? args.pos[k++].str() : "";
    Args targs;
    targs.pos.assign(args.pos.begin() + static_cast<long>(std::min(k, args.pos.size())), args.pos.end());
    List out;
    for (const Value& x : items) {
      const Value subject = by_attr ? attr_path(x, attr) : x;
      bool ok = false;
      if (test.empty()) {
        ok = subject.truthy();
      } else {
        SWAA_ASSIGN_OR_RETURN(ok, apply_test(test, subject, targs));
      }
      if (ok == keep_if) out.push_back(x);
    }
    return Value(std::move(out));
  }
  if (name == "batch" || name == "slice") {
    if (!a0) return type_error("filter '" + name + "' needs a size");
    List out;
    const size_t n = static_cast<size_t>(std::max<int64_t>(1, a0->as_int()));
    for (size_t i = 0; i < items.size(); i += n) {
      out.emplace_back(List(items.begin() + static_cast<long>(i), items.begin() + static_cast<long>(std::min(items.size(), i + n))));
    }
    return Value(std::move(out));
  }
  return invalid_argument("unsupported filter '" + name + "'");
}

std::optional<Value> global_function(const std::string& name) {
  if (name == "range") {
    return make_fn("range", [](const Args& a) -> Result<Value> {
      if (a.pos.empty()) return type_error("range() needs at least 1 argument");
      int64_t start = 0, stop = 0, step = 1;
      if (a.pos.size() == 1) {
        stop = a.pos[0].as_int();
      } else {
        start = a.pos[0].as_int();
        stop = a.pos[1].as_int();
        if (a.pos.size() > 2) step = a.pos[2].as_int();
      }
      if (step == 0) return type_error("range() step must not be zero");
      if ((stop - start) / step > 1000000) return type_error("range() too long");
      List out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
      return Value(std::move(out));
    });
  }
  if (name == "namespace" || name == "dict") {
    const bool ns = name == "namespace";
    return make_fn(name, [ns](const Args& a) -> Result<Value> {
      auto d = std::make_shared<Dict>();
      d->is_namespace = ns;
      for (const Value& p : a.pos) {
        if (p.is_dict()) {
          for (const auto& [k, v] : p.dict().items) d->set(k, v);
        }
      }
      for (const auto& [k, v] : a.kw) d->set(k, v);
      return Value(std::move(d));
    });
  }
  if (name == "raise_exception") {
    return make_fn(name, [](const Args& a) -> Result<Value> {
      return invalid_argument("template raised an exception: " + (a.pos.empty() ? std::string() : a.pos[0].str()));
    });
  }
  if (name == "strftime_now") {
    return make_fn(name, [](const Args& a) -> Result<Value> {
      if (a.pos.empty()) return type_error("strftime_now() needs a format");
      const std::time_t t = std::time(nullptr);
      std::tm tm{};
      localtime_r(&t, &tm);
      char buf[256];
      const size_t n = std::strftime(buf, sizeof(buf), a.pos[0].as_string().c_str(), &tm);
      return Value(std::string(buf, n));
    });
  }
  return std::nullopt;
}

}  // namespace swaa::jinja
