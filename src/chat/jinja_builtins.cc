// Jinja built-ins other than filters: attribute/item lookup, Python str/dict methods, tests and
// global functions (range, namespace, dict, raise_exception, strftime_now). See jinja_builtins.h.
#include "chat/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include "chat/jinja_pystr.h"
#include "tokenizer/utf8.h"

namespace swaa::jinja {
namespace {

std::string index_name(const Value& key) {
  std::string s(1, '[');
  s.append(key.str()).append(1, ']');
  return s;
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
      if (i < 0 || i >= n) return Value::undefined(index_name(key));
      return obj.list()[static_cast<size_t>(i)];
    }
    SWAA_ASSIGN_OR_RETURN(List chars, to_list(obj, "index"));
    int64_t i = key.as_int();
    const int64_t n = static_cast<int64_t>(chars.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined(index_name(key));
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
