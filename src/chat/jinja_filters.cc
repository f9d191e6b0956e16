// Jinja filters (trim, tojson, length, join, map, select/reject(attr), items, dictsort, default,
// sort, unique, ...) with Jinja2/Transformers semantics; unknown filters are reported by name.
// Tests: tests/unit/chat/jinja_test.cc
#include <algorithm>
#include <cmath>

#include "chat/jinja_builtins.h"
#include "chat/jinja_pystr.h"

namespace swaa::jinja {

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
  if (name == "tojson") {  // Transformers: json.dumps(x, ensure_ascii=False, indent, separators, sort_keys)
    Value::JsonStyle style;
    const Value* ind = args.get(0, "indent");
    if (ind && !ind->is_none()) style.indent = static_cast<int>(ind->as_int());
    if (style.indent >= 0) style.item_sep = ",";
    if (const Value* seps = args.get(99, "separators"); seps && seps->is_list() && seps->list().size() == 2) {
      style.item_sep = seps->list()[0].as_string();
      style.key_sep = seps->list()[1].as_string();
    }
    if (const Value* sk = args.get(99, "sort_keys")) style.sort_keys = sk->truthy();
    if (const Value* ea = args.get(99, "ensure_ascii")) style.ensure_ascii = ea->truthy();
    std::string out;
    SWAA_RETURN_IF_ERROR(v.to_json(out, style));
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

}  // namespace swaa::jinja
