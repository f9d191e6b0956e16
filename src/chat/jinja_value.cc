// Value semantics; see jinja_value.h.
#include "chat/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "tokenizer/utf8.h"

namespace swaa::jinja {

Value::Value(List l) : type_(Type::kList), list_(std::make_shared<List>(std::move(l))) {}
Value::Value(std::shared_ptr<Dict> d) : type_(Type::kDict), dict_(std::move(d)) {}
Value::Value(std::shared_ptr<Callable> c) : type_(Type::kCallable), callable_(std::move(c)) {}

Value Value::new_dict() { return Value(std::make_shared<Dict>()); }

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      for (const auto& e : j) l.push_back(from_json(e));
      return Value(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      auto d = std::make_shared<Dict>();
      for (auto it = j.begin(); it != j.end(); ++it) d->items.emplace_back(it.key(), from_json(it.value()));
      return Value(std::move(d));
    }
    default: return undefined();
  }
}

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Dict::set(const std::string& key, Value v) {
  for (auto& [k, old] : items) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  items.emplace_back(key, std::move(v));
}

const Value* Args::get(size_t i, const char* name) const {
  if (i < pos.size()) return &pos[i];
  for (const auto& [k, v] : kw) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool Value::truthy() const {
  switch (type_) {
    case Type::kUndefined:
    case Type::kNone: return false;
    case Type::kBool:
    case Type::kInt: return int_ != 0;
    case Type::kFloat: return float_ != 0.0;
    case Type::kString: return !str_.empty();
    case Type::kList: return !list_->empty();
    case Type::kDict: return !dict_->items.empty();
    case Type::kCallable: return true;
  }
  return false;
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. -1.2345e+02 (shortest round-trip digits)
  const size_t e = sci.find('e');
  const int exp = std::stoi(sci.substr(e + 1));
  std::string mant = sci.substr(0, e);
  const bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits.push_back(c);
  }
  std::string out;
  if (exp >= -5 + 1 && exp < 16) {  // Python repr: fixed when -4 <= exp < 16
    if (exp >= 0) {
      if (static_cast<int>(digits.size()) <= exp + 1) {
        out = digits + std::string(static_cast<size_t>(exp + 1) - digits.size(), '0') + ".0";
      } else {
        out = digits.substr(0, static_cast<size_t>(exp + 1)) + "." + digits.substr(static_cast<size_t>(exp + 1));
      }
    } else {
      out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out.append(".").append(digits, 1, std::string::npos);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += eb;
  }
  return neg ? "-" + out : out;
}

namespace {

std::string python_str_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) out += std::string("\\") + q;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", c);
      out += b;
    } else {
      const size_t len = std::max<size_t>(1, tok::utf8_valid_len(s, i));
      out.append(s, i, len);
      i += len;
      continue;
    }
    ++i;
  }
  out.push_back(q);
  return out;
}

void json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (ensure_ascii && c >= 0x80) {  // \uXXXX, astral code points as a surrogate pair
      const size_t len = std::max<size_t>(1, tok::utf8_valid_len(s, i));
      char32_t cp = tok::utf8_decode_at(s, i, len);
      char b[16];
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(b, sizeof(b), "\\u%04x\\u%04x", 0xD800 + static_cast<unsigned>(cp >> 10),
                      0xDC00 + static_cast<unsigned>(cp & 0x3FF));
      } else {
        std::snprintf(b, sizeof(b), "\\u%04x", static_cast<unsigned>(cp));
      }
      out += b;
      i += len - 1;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof(b), "\\u%04x", c);
          out += b;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string Value::str() const {
  switch (type_) {
    case Type::kUndefined: return "";
    case Type::kNone: return "None";
    case Type::kBool: return int_ ? "True" : "False";
    case Type::kInt: return std::to_string(int_);
    case Type::kFloat: return python_float_repr(float_);
    case Type::kString: return str_;
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (type_) {
    case Type::kString: return python_str_repr(str_);
    case Type::kList: {
      std::string out = "[";
      for (size_t i = 0; i < list_->size(); ++i) out += (i ? ", " : "") + (*list_)[i].repr();
      return out + "]";
    }
    case Type::kDict: {
      if (dict_->is_namespace) return "<Namespace>";
      std::string out = "{";
      for (size_t i = 0; i < dict_->items.size(); ++i) {
        out += (i ? ", " : "") + python_str_repr(dict_->items[i].first) + ": " + dict_->items[i].second.repr();
      }
      return out + "}";
    }
    case Type::kCallable: return "<function " + callable_->name + ">";
    default: return str();
  }
}

Status Value::to_json(std::string& out, const JsonStyle& style, int depth) const {
  const int indent = style.indent;
  auto newline = [&](int d) {
    if (indent >= 0) out.append(1, '\n').append(static_cast<size_t>(indent * d), ' ');
  };
  switch (type_) {
    case Type::kUndefined: return invalid_argument("tojson: value is undefined");
    case Type::kNone: out += "null"; return {};
    case Type::kBool: out += int_ ? "true" : "false"; return {};
    case Type::kInt: out += std::to_string(int_); return {};
    case Type::kFloat:
      if (std::isnan(float_)) out += "NaN";
      else if (std::isinf(float_)) out += float_ > 0 ? "Infinity" : "-Infinity";
      else out += python_float_repr(float_);
      return {};
    case Type::kString: json_string(out, str_, style.ensure_ascii); return {};
    case Type::kList:
      if (list_->empty()) {
        out += "[]";
        return {};
      }
      out += "[";
      for (size_t i = 0; i < list_->size(); ++i) {
        if (i) out += style.item_sep;
        newline(depth + 1);
        SWAA_RETURN_IF_ERROR((*list_)[i].to_json(out, style, depth + 1));
      }
      newline(depth);
      out += "]";
      return {};
    case Type::kDict: {
      if (dict_->items.empty()) {
        out += "{}";
        return {};
      }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : dict_->items) items.push_back(&kv);
      if (style.sort_keys) {
        std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      out += "{";
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_sep;
        newline(depth + 1);
        json_string(out, items[i]->first, style.ensure_ascii);
        out += style.key_sep;
        SWAA_RETURN_IF_ERROR(items[i]->second.to_json(out, style, depth + 1));
      }
      newline(depth);
      out += "}";
      return {};
    }
    case Type::kCallable: return invalid_argument("tojson: a function is not JSON serializable");
  }
  return {};
}

bool Value::equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (type_ == Type::kFloat || o.type_ == Type::kFloat) return as_float() == o.as_float();
    return int_ == o.int_;
  }
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::kUndefined:
    case Type::kNone: return true;
    case Type::kString: return str_ == o.str_;
    case Type::kList:
      if (list_->size() != o.list_->size()) return false;
      for (size_t i = 0; i < list_->size(); ++i) {
        if (!(*list_)[i].equals((*o.list_)[i])) return false;
      }
      return true;
    case Type::kDict:
      if (dict_->items.size() != o.dict_->items.size()) return false;
      for (const auto& [k, v] : dict_->items) {
        const Value* w = o.dict_->find(k);
        if (w == nullptr || !v.equals(*w)) return false;
      }
      return true;
    case Type::kCallable: return callable_ == o.callable_;
    default: return false;
  }
}

std::string Value::type_name() const {
  switch (type_) {
    case Type::kUndefined: return "Undefined";
    case Type::kNone: return "NoneType";
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kString: return "str";
    case Type::kList: return "list";
    case Type::kDict: return dict_->is_namespace ? "Namespace" : "dict";
    case Type::kCallable: return "function";
  }
  return "?";
}

}  // namespace swaa::jinja
