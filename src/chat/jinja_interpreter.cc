// Jinja renderer: walks the Program with a chain of scopes. Jinja2 rules kept: a `for` body gets
// a fresh scope per iteration (so `set` inside a loop does not leak; namespace() is the way out),
// `if` has no scope, macros see the template's top-level scope, Undefined prints as "" and fails
// on attribute access. Tests: tests/unit/chat/jinja_test.cc
#include <cmath>
#include <unordered_map>

#include "chat/jinja_builtins.h"
#include "chat/jinja_template.h"

namespace swaa::jinja {
namespace {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  Scope* parent = nullptr;
  Value* find(const std::string& n) {
    for (Scope* s = this; s; s = s->parent) {
      auto it = s->vars.find(n);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};

enum class Flow { kNormal, kBreak, kContinue };

Status at_line(int line, const Status& s) {
  if (s.ok() || s.message().rfind("line ", 0) == 0) return s;
  return {s.code(), "line " + std::to_string(line) + ": " + s.message()};
}

class Interp {
 public:
  explicit Interp(Scope* globals) : globals_(globals) {}

  Result<Flow> exec(const Body& body, Scope& scope, std::string& out) {
    for (const StmtPtr& s : body) {
      SWAA_ASSIGN_OR_RETURN(Flow f, exec_one(*s, scope, out));
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Result<Value> eval(const Expr& e, Scope& scope) {
    auto r = eval_inner(e, scope);
    if (!r.ok()) return at_line(e.line, r.status());
    return r;
  }

 private:
  Result<Flow> exec_one(const Stmt& s, Scope& scope, std::string& out) {
    switch (s.kind) {
      case Stmt::Kind::kText: out += s.text; return Flow::kNormal;
      case Stmt::Kind::kEmit: {
        SWAA_ASSIGN_OR_RETURN(Value v, eval(*s.expr, scope));
        out += v.str();
        return Flow::kNormal;
      }
      case Stmt::Kind::kIf:
        for (const auto& [cond, body] : s.branches) {
          SWAA_ASSIGN_OR_RETURN(Value c, eval(*cond, scope));
          if (c.truthy()) return exec(body, scope, out);
        }
        return exec(s.else_body, scope, out);
      case Stmt::Kind::kFor: return exec_for(s, scope, out);
      case Stmt::Kind::kSet: {
        SWAA_ASSIGN_OR_RETURN(Value v, eval(*s.expr, scope));
        if (!s.attr.empty()) {
          Value* ns = scope.find(s.targets[0]);
          if (ns == nullptr || !ns->is_dict() || !ns->dict().is_namespace) {
            return at_line(s.line, invalid_argument("cannot assign attribute '" + s.attr + "' on '" + s.targets[0] +
                                                    "': only namespace() objects can be changed"));
          }
          ns->dict().set(s.attr, std::move(v));
          return Flow::kNormal;
        }
        if (s.targets.size() == 1) {
          scope.vars[s.targets[0]] = std::move(v);
          return Flow::kNormal;
        }
        if (!v.is_list() || v.list().size() != s.targets.size()) {
          return at_line(s.line, invalid_argument("cannot unpack " + v.type_name() + " into " +
                                                  std::to_string(s.targets.size()) + " names"));
        }
        for (size_t i = 0; i < s.targets.size(); ++i) scope.vars[s.targets[i]] = v.list()[i];
        return Flow::kNormal;
      }
      case Stmt::Kind::kSetBlock: {
        std::string captured;
        SWAA_ASSIGN_OR_RETURN(Flow f, exec(s.body, scope, captured));
        (void)f;
        scope.vars[s.targets[0]] = Value(std::move(captured));
        return Flow::kNormal;
      }
      case Stmt::Kind::kMacro: scope.vars[s.name] = make_macro(s); return Flow::kNormal;
      case Stmt::Kind::kBreak: return Flow::kBreak;
      case Stmt::Kind::kContinue: return Flow::kContinue;
      case Stmt::Kind::kBlockBody: return exec(s.body, scope, out);
    }
    return Flow::kNormal;
  }

  Value make_macro(const Stmt& s) {
    auto c = std::make_shared<Callable>();
    c->name = s.name;
    const Stmt* def = &s;
    c->fn = [this, def](const Args& a) -> Result<Value> {
      Scope local;
      local.parent = globals_;
      for (size_t i = 0; i < def->params.size(); ++i) {
        const auto& [pname, pdef] = def->params[i];
        if (const Value* v = a.get(i, pname.c_str())) {
          local.vars[pname] = *v;
        } else if (pdef) {
          SWAA_ASSIGN_OR_RETURN(local.vars[pname], eval(*pdef, local));
        } else {
          local.vars[pname] = Value::undefined(pname);
        }
      }
      if (a.pos.size() > def->params.size()) {
        return at_line(def->line, invalid_argument("macro '" + def->name + "' takes " +
                                                   std::to_string(def->params.size()) + " arguments, got " +
                                                   std::to_string(a.pos.size())));
      }
      std::string out;
      SWAA_ASSIGN_OR_RETURN(Flow f, exec(def->body, local, out));
      (void)f;
      return Value(std::move(out));
    };
    return Value(std::move(c));
  }

  Result<Flow> exec_for(const Stmt& s, Scope& scope, std::string& out) {
    SWAA_ASSIGN_OR_RETURN(Value iter, eval(*s.expr, scope));
    List items;
    if (iter.is_list()) {
      items = iter.list();
    } else if (iter.is_dict()) {
      for (const auto& kv : iter.dict().items) items.emplace_back(kv.first);
    } else if (iter.is_string()) {
      SWAA_ASSIGN_OR_RETURN(Value l, apply_filter("list", iter, Args{}));
      items = l.list();
    } else if (!iter.is_undefined() ) {
      return at_line(s.line, invalid_argument("'" + iter.type_name() + "' object is not iterable"));
    }
    auto bind = [&](Scope& sc, const Value& item) -> Status {
      if (s.targets.size() == 1) {
        sc.vars[s.targets[0]] = item;
        return {};
      }
      if (!item.is_list() || item.list().size() != s.targets.size()) {
        return at_line(s.line, invalid_argument("cannot unpack " + item.repr() + " into " +
                                                std::to_string(s.targets.size()) + " loop variables"));
      }
      for (size_t i = 0; i < s.targets.size(); ++i) sc.vars[s.targets[i]] = item.list()[i];
      return {};
    };
    if (s.filter) {  // `for x in xs if cond`: filter first, so loop.length counts what is kept
      List kept;
      for (const Value& item : items) {
        Scope sc;
        sc.parent = &scope;
        SWAA_RETURN_IF_ERROR(bind(sc, item));
        SWAA_ASSIGN_OR_RETURN(Value c, eval(*s.filter, sc));
        if (c.truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec(s.else_body, scope, out);
    const int64_t n = static_cast<int64_t>(items.size());
    bool completed = false;
    for (int64_t i = 0; i < n; ++i) {
      Scope sc;
      sc.parent = &scope;
      SWAA_RETURN_IF_ERROR(bind(sc, items[static_cast<size_t>(i)]));
      auto loop = std::make_shared<Dict>();
      loop->set("index", Value(i + 1));
      loop->set("index0", Value(i));
      loop->set("revindex", Value(n - i));
      loop->set("revindex0", Value(n - i - 1));
      loop->set("first", Value(i == 0));
      loop->set("last", Value(i == n - 1));
      loop->set("length", Value(n));
      loop->set("depth", Value(int64_t{1}));
      loop->set("depth0", Value(int64_t{0}));
      loop->set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("previtem"));
      loop->set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("nextitem"));
      auto cycle = std::make_shared<Callable>();
      cycle->name = "loop.cycle";
      cycle->fn = [i](const Args& a) -> Result<Value> {
        if (a.pos.empty()) return invalid_argument("loop.cycle() needs at least one value");
        return a.pos[static_cast<size_t>(i) % a.pos.size()];
      };
      loop->set("cycle", Value(std::move(cycle)));
      sc.vars["loop"] = Value(std::move(loop));
      SWAA_ASSIGN_OR_RETURN(Flow f, exec(s.body, sc, out));
      if (f == Flow::kBreak) break;
      if (f == Flow::kNormal) completed = true;
    }
    // Jinja2 clears its "no iteration" flag at the end of the body, so `else` also runs when every
    // iteration ended in continue (or the first one in break).
    if (!completed) return exec(s.else_body, scope, out);
    return Flow::kNormal;
  }

  Result<Args> eval_args(const Expr& e, size_t first, Scope& scope) {
    Args a;
    for (size_t i = first; i < e.children.size(); ++i) {
      SWAA_ASSIGN_OR_RETURN(Value v, eval(*e.children[i], scope));
      a.pos.push_back(std::move(v));
    }
    for (const auto& [k, x] : e.kwargs) {
      SWAA_ASSIGN_OR_RETURN(Value v, eval(*x, scope));
      a.kw.emplace_back(k, std::move(v));
    }
    return a;
  }

  Result<Value> eval_inner(const Expr& e, Scope& scope) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.literal;
      case Expr::Kind::kName: {
        if (Value* v = scope.find(e.name)) return *v;
        if (auto g = global_function(e.name)) return *g;
        return Value::undefined(e.name);
      }
      case Expr::Kind::kList: {
        List l;
        for (const auto& c : e.children) {
          SWAA_ASSIGN_OR_RETURN(Value v, eval(*c, scope));
          l.push_back(std::move(v));
        }
        return Value(std::move(l));
      }
      case Expr::Kind::kDict: {
        auto d = std::make_shared<Dict>();
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          SWAA_ASSIGN_OR_RETURN(Value k, eval(*e.children[i], scope));
          SWAA_ASSIGN_OR_RETURN(Value v, eval(*e.children[i + 1], scope));
          d->set(k.str(), std::move(v));
        }
        return Value(std::move(d));
      }
      case Expr::Kind::kAttr: {
        SWAA_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0], scope));
        if (obj.is_undefined()) {
          return invalid_argument("'" + obj.undefined_name() + "' is undefined (reading its attribute '" + e.name + "')");
        }
        return get_attr(obj, e.name);
      }
      case Expr::Kind::kItem: {
        SWAA_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0], scope));
        SWAA_ASSIGN_OR_RETURN(Value key, eval(*e.children[1], scope));
        return get_item(obj, key);
      }
      case Expr::Kind::kSlice: return eval_slice(e, scope);
      case Expr::Kind::kCall: {
        SWAA_ASSIGN_OR_RETURN(Value fn, eval(*e.children[0], scope));
        if (!fn.is_callable()) {
          return invalid_argument("'" + (fn.is_undefined() ? fn.undefined_name() : fn.type_name()) +
                                  "' is not callable (unsupported function or method?)");
        }
        SWAA_ASSIGN_OR_RETURN(Args a, eval_args(e, 1, scope));
        return fn.callable().fn(a);
      }
      case Expr::Kind::kFilter: {
        SWAA_ASSIGN_OR_RETURN(Value v, eval(*e.children[0], scope));
        SWAA_ASSIGN_OR_RETURN(Args a, eval_args(e, 1, scope));
        return apply_filter(e.name, v, a);
      }
      case Expr::Kind::kTest: {
        SWAA_ASSIGN_OR_RETURN(Value v, eval(*e.children[0], scope));
        SWAA_ASSIGN_OR_RETURN(Args a, eval_args(e, 1, scope));
        SWAA_ASSIGN_OR_RETURN(bool r, apply_test(e.name, v, a));
        return Value(r != e.negated);
      }
      case Expr::Kind::kUnary: {
        SWAA_ASSIGN_OR_RETURN(Value v, eval(*e.children[0], scope));
        if (!v.is_number()) return invalid_argument("bad operand type for unary " + e.name + ": " + v.type_name());
        if (e.name == "+") return v;
        return v.type() == Value::Type::kFloat ? Value(-v.as_float()) : Value(-v.as_int());
      }
      case Expr::Kind::kBinary: {
        SWAA_ASSIGN_OR_RETURN(Value a, eval(*e.children[0], scope));
        SWAA_ASSIGN_OR_RETURN(Value b, eval(*e.children[1], scope));
        return binary(e.name, a, b);
      }
      case Expr::Kind::kCompare: {
        SWAA_ASSIGN_OR_RETURN(Value left, eval(*e.children[0], scope));
        for (size_t i = 0; i < e.ops.size(); ++i) {
          SWAA_ASSIGN_OR_RETURN(Value right, eval(*e.children[i + 1], scope));
          SWAA_ASSIGN_OR_RETURN(bool ok, compare(e.ops[i], left, right));
          if (!ok) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::kAnd: {
        SWAA_ASSIGN_OR_RETURN(Value a, eval(*e.children[0], scope));
        if (!a.truthy()) return a;
        return eval(*e.children[1], scope);
      }
      case Expr::Kind::kOr: {
        SWAA_ASSIGN_OR_RETURN(Value a, eval(*e.children[0], scope));
        if (a.truthy()) return a;
        return eval(*e.children[1], scope);
      }
      case Expr::Kind::kNot: {
        SWAA_ASSIGN_OR_RETURN(Value a, eval(*e.children[0], scope));
        return Value(!a.truthy());
      }
      case Expr::Kind::kCond: {
        SWAA_ASSIGN_OR_RETURN(Value c, eval(*e.children[0], scope));
        if (c.truthy()) return eval(*e.children[1], scope);
        if (e.children[2]) return eval(*e.children[2], scope);
        return Value::undefined();
      }
    }
    return Value::undefined();
  }

  Result<Value> eval_slice(const Expr& e, Scope& scope) {
    SWAA_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0], scope));
    std::optional<int64_t> idx[3];
    for (int k = 0; k < 3; ++k) {
      if (!e.children[static_cast<size_t>(k) + 1]) continue;
      SWAA_ASSIGN_OR_RETURN(Value v, eval(*e.children[static_cast<size_t>(k) + 1], scope));
      if (!v.is_none()) idx[k] = v.as_int();
    }
    const bool is_str = obj.is_string();
    List items;
    if (is_str) {
      SWAA_ASSIGN_OR_RETURN(Value l, apply_filter("list", obj, Args{}));
      items = l.list();
    } else if (obj.is_list()) {
      items = obj.list();
    } else {
      return invalid_argument("cannot slice " + obj.type_name());
    }
    const int64_t n = static_cast<int64_t>(items.size());
    const int64_t step = idx[2].value_or(1);
    if (step == 0) return invalid_argument("slice step cannot be zero");
    auto clamp = [&](std::optional<int64_t> v, int64_t def) {
      if (!v) return def;
      int64_t x = *v < 0 ? *v + n : *v;
      if (step > 0) return std::clamp<int64_t>(x, 0, n);
      return std::clamp<int64_t>(x, -1, n - 1);
    };
    const int64_t start = clamp(idx[0], step > 0 ? 0 : n - 1), stop = clamp(idx[1], step > 0 ? n : -1);
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(items[static_cast<size_t>(i)]);
    if (!is_str) return Value(std::move(out));
    std::string s;
    for (const Value& c : out) s += c.as_string();
    return Value(std::move(s));
  }

  static Result<Value> binary(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") return Value(a.str() + b.str());
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
      if (a.is_list() && b.is_list()) {
        List l = a.list();
        l.insert(l.end(), b.list().begin(), b.list().end());
        return Value(std::move(l));
      }
    }
    if (op == "*" && ((a.is_string() && b.is_int()) || (a.is_int() && b.is_string()))) {
      const Value& s = a.is_string() ? a : b;
      std::string out;
      for (int64_t i = 0; i < (a.is_string() ? b : a).as_int(); ++i) out += s.as_string();
      return Value(out);
    }
    if (!a.is_number() || !b.is_number()) {
      const std::string an = a.is_undefined() ? "undefined '" + a.undefined_name() + "'" : a.type_name();
      const std::string bn = b.is_undefined() ? "undefined '" + b.undefined_name() + "'" : b.type_name();
      return invalid_argument("unsupported operand types for " + op + ": " + an + " and " + bn);
    }
    const bool fl = a.type() == Value::Type::kFloat || b.type() == Value::Type::kFloat;
    if (op == "+") return fl ? Value(a.as_float() + b.as_float()) : Value(a.as_int() + b.as_int());
    if (op == "-") return fl ? Value(a.as_float() - b.as_float()) : Value(a.as_int() - b.as_int());
    if (op == "*") return fl ? Value(a.as_float() * b.as_float()) : Value(a.as_int() * b.as_int());
    if (op == "/") {
      if (b.as_float() == 0) return invalid_argument("division by zero");
      return Value(a.as_float() / b.as_float());
    }
    if (op == "//" || op == "%") {
      if (b.as_float() == 0) return invalid_argument("integer division or modulo by zero");
      if (fl) {
        const double q = std::floor(a.as_float() / b.as_float());
        return op == "//" ? Value(q) : Value(a.as_float() - q * b.as_float());
      }
      const int64_t x = a.as_int(), y = b.as_int();
      int64_t q = x / y;
      if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
      return op == "//" ? Value(q) : Value(x - q * y);
    }
    if (op == "**") {
      if (!fl && b.as_int() >= 0) {
        int64_t r = 1;
        for (int64_t i = 0; i < b.as_int(); ++i) r *= a.as_int();
        return Value(r);
      }
      return Value(std::pow(a.as_float(), b.as_float()));
    }
    return invalid_argument("unsupported operator " + op);
  }

  static Result<bool> compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return a.equals(b);
    if (op == "!=") return !a.equals(b);
    if (op == "in" || op == "not in") {
      if (!(b.is_string() || b.is_list() || b.is_dict())) {
        return invalid_argument("argument of type '" + b.type_name() + "' is not iterable (in '" + op + "')");
      }
      Args args;
      args.pos.push_back(b);
      SWAA_ASSIGN_OR_RETURN(bool r, apply_test("in", a, args));
      return op == "in" ? r : !r;
    }
    const bool ok = (a.is_number() && b.is_number()) || (a.is_string() && b.is_string());
    if (!ok) return invalid_argument("'" + op + "' not supported between " + a.type_name() + " and " + b.type_name());
    int c = 0;
    if (a.is_number()) c = a.as_float() < b.as_float() ? -1 : a.as_float() > b.as_float() ? 1 : 0;
    else c = a.as_string() < b.as_string() ? -1 : a.as_string() > b.as_string() ? 1 : 0;
    if (op == "<") return c < 0;
    if (op == ">") return c > 0;
    if (op == "<=") return c <= 0;
    return c >= 0;
  }

  Scope* globals_;
};

}  // namespace

Result<Template> Template::parse(const std::string& source) {
  Template t;
  SWAA_ASSIGN_OR_RETURN(t.program_, parse_template(source));
  return t;
}

Result<std::string> Template::render(const Value& context) const {
  Scope globals;
  if (context.is_dict()) {
    for (const auto& [k, v] : context.dict().items) globals.vars[k] = v;
  }
  Interp in(&globals);
  std::string out;
  SWAA_ASSIGN_OR_RETURN(Flow f, in.exec(program_->body, globals, out));
  (void)f;
  return out;
}

}  // namespace swaa::jinja
