// Jinja parser: chunks from the lexer -> Program (statements and expressions, Jinja2 precedence).
// Constructs outside the supported subset fail with the line and the construct's name.
#include <set>

#include "chat/jinja_ast.h"
#include "chat/jinja_lexer.h"

namespace swaa::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Chunk> chunks) : chunks_(std::move(chunks)) {}

  Result<std::shared_ptr<const Program>> run() {
    auto prog = std::make_shared<Program>();
    std::string stop;
    SWAA_RETURN_IF_ERROR(parse_body(prog->body, {}, stop));
    return std::shared_ptr<const Program>(std::move(prog));
  }

 private:
  // ---- statements -------------------------------------------------------------------------
  // Parses statements until a block tag whose keyword is in `stops` (returned in `stop`; the
  // current chunk is left on it) or the end of input (stop = "").
  Status parse_body(Body& body, const std::set<std::string>& stops, std::string& stop) {
    while (ci_ < chunks_.size()) {
      Chunk& c = chunks_[ci_];
      if (c.kind == Chunk::Kind::kText) {
        auto s = std::make_unique<Stmt>(Stmt::Kind::kText, c.line);
        s->text = c.text;
        body.push_back(std::move(s));
        ++ci_;
        continue;
      }
      toks_ = &c.tokens;
      ti_ = 0;
      if (c.kind == Chunk::Kind::kVar) {
        auto s = std::make_unique<Stmt>(Stmt::Kind::kEmit, c.line);
        SWAA_ASSIGN_OR_RETURN(s->expr, parse_expr());
        SWAA_RETURN_IF_ERROR(expect_end());
        body.push_back(std::move(s));
        ++ci_;
        continue;
      }
      if (peek().kind != Token::Kind::kName) return err(peek().line, "expected a statement name after '{%'");
      const std::string kw = peek().text;
      if (stops.count(kw)) {
        stop = kw;
        return {};
      }
      ++ti_;
      SWAA_RETURN_IF_ERROR(parse_statement(kw, c.line, body));
    }
    if (!stops.empty()) {
      std::string want;
      for (const auto& s : stops) want += (want.empty() ? "" : " or ") + ("'{% " + s + " %}'");
      return invalid_argument("line " + std::to_string(chunks_.empty() ? 1 : chunks_.back().line) +
                              ": unexpected end of template, expected " + want);
    }
    stop.clear();
    return {};
  }

  Status parse_statement(const std::string& kw, int line, Body& body) {
    if (kw == "if") return parse_if(line, body);
    if (kw == "for") return parse_for(line, body);
    if (kw == "set") return parse_set(line, body);
    if (kw == "macro") return parse_macro(line, body);
    if (kw == "break" || kw == "continue") {
      body.push_back(std::make_unique<Stmt>(kw == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue, line));
      SWAA_RETURN_IF_ERROR(expect_end());
      ++ci_;
      return {};
    }
    if (kw == "generation") {  // Transformers' {% generation %} marks assistant text; renders its body
      SWAA_RETURN_IF_ERROR(expect_end());
      ++ci_;
      auto s = std::make_unique<Stmt>(Stmt::Kind::kBlockBody, line);
      std::string stop;
      SWAA_RETURN_IF_ERROR(parse_body(s->body, {"endgeneration"}, stop));
      SWAA_RETURN_IF_ERROR(end_tag());
      body.push_back(std::move(s));
      return {};
    }
    static const std::set<std::string> kUnsupported = {"include", "extends", "block", "import", "from", "call",
                                                       "filter", "with", "autoescape", "do", "trans"};
    if (kUnsupported.count(kw)) {
      return err(line, "unsupported construct '{% " + kw + " %}' (swaa's chat-template interpreter covers if, for, "
                       "set, macro, break, continue, raw, generation)");
    }
    return err(line, "unknown statement '{% " + kw + " %}'");
  }

  Status parse_if(int line, Body& body) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::kIf, line);
    while (true) {
      SWAA_ASSIGN_OR_RETURN(ExprPtr cond, parse_expr());
      SWAA_RETURN_IF_ERROR(expect_end());
      ++ci_;
      Body b;
      std::string stop;
      SWAA_RETURN_IF_ERROR(parse_body(b, {"elif", "else", "endif"}, stop));
      s->branches.emplace_back(std::move(cond), std::move(b));
      ++ti_;  // the stop keyword
      if (stop == "elif") continue;
      if (stop == "else") {
        SWAA_RETURN_IF_ERROR(expect_end());
        ++ci_;
        SWAA_RETURN_IF_ERROR(parse_body(s->else_body, {"endif"}, stop));
        ++ti_;
      }
      SWAA_RETURN_IF_ERROR(expect_end());
      ++ci_;
      break;
    }
    body.push_back(std::move(s));
    return {};
  }

  Status parse_for(int line, Body& body) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::kFor, line);
    do {
      if (peek().kind != Token::Kind::kName) return err(line, "expected a loop variable name after 'for'");
      s->targets.push_back(next().text);
    } while (accept_op(","));
    if (!accept_name("in")) return err(line, "expected 'in' in for loop");
    SWAA_ASSIGN_OR_RETURN(s->expr, parse_or_ternary(/*allow_cond=*/false));
    if (accept_name("if")) {
      SWAA_ASSIGN_OR_RETURN(s->filter, parse_or_ternary(false));
    }
    if (accept_name("recursive")) return err(line, "unsupported construct 'for ... recursive'");
    SWAA_RETURN_IF_ERROR(expect_end());
    ++ci_;
    std::string stop;
    SWAA_RETURN_IF_ERROR(parse_body(s->body, {"else", "endfor"}, stop));
    ++ti_;
    if (stop == "else") {
      SWAA_RETURN_IF_ERROR(expect_end());
      ++ci_;
      SWAA_RETURN_IF_ERROR(parse_body(s->else_body, {"endfor"}, stop));
      ++ti_;
    }
    SWAA_RETURN_IF_ERROR(expect_end());
    ++ci_;
    body.push_back(std::move(s));
    return {};
  }

  Status parse_set(int line, Body& body) {
    std::vector<std::string> names;
    std::string attr;
    do {
      if (peek().kind != Token::Kind::kName) return err(line, "expected a name after 'set'");
      names.push_back(next().text);
      if (accept_op(".")) {
        if (peek().kind != Token::Kind::kName) return err(line, "expected an attribute name in 'set'");
        attr = next().text;
      }
    } while (accept_op(","));
    if (accept_op("=")) {
      auto s = std::make_unique<Stmt>(Stmt::Kind::kSet, line);
      s->targets = std::move(names);
      s->attr = attr;
      SWAA_ASSIGN_OR_RETURN(s->expr, parse_expr());
      SWAA_RETURN_IF_ERROR(expect_end());
      ++ci_;
      body.push_back(std::move(s));
      return {};
    }
    if (names.size() != 1 || !attr.empty()) return err(line, "block 'set' takes exactly one name");
    if (peek().kind == Token::Kind::kOp && peek().text == "|") return err(line, "unsupported construct 'set ... | filter' block");
    SWAA_RETURN_IF_ERROR(expect_end());
    ++ci_;
    auto s = std::make_unique<Stmt>(Stmt::Kind::kSetBlock, line);
    s->targets = std::move(names);
    std::string stop;
    SWAA_RETURN_IF_ERROR(parse_body(s->body, {"endset"}, stop));
    SWAA_RETURN_IF_ERROR(end_tag());
    body.push_back(std::move(s));
    return {};
  }

  Status parse_macro(int line, Body& body) {
    auto s = std::make_unique<Stmt>(Stmt::Kind::kMacro, line);
    if (peek().kind != Token::Kind::kName) return err(line, "expected a macro name");
    s->name = next().text;
    if (!accept_op("(")) return err(line, "expected '(' after the macro name");
    if (!accept_op(")")) {
      do {
        if (peek().kind != Token::Kind::kName) return err(line, "expected a parameter name in macro");
        std::string p = next().text;
        ExprPtr def;
        if (accept_op("=")) {
          SWAA_ASSIGN_OR_RETURN(def, parse_expr());
        }
        s->params.emplace_back(std::move(p), std::move(def));
      } while (accept_op(","));
      if (!accept_op(")")) return err(line, "expected ')' after macro parameters");
    }
    SWAA_RETURN_IF_ERROR(expect_end());
    ++ci_;
    std::string stop;
    SWAA_RETURN_IF_ERROR(parse_body(s->body, {"endmacro"}, stop));
    SWAA_RETURN_IF_ERROR(end_tag());
    body.push_back(std::move(s));
    return {};
  }

  // Consumes the current `{% endX %}` tag.
  Status end_tag() {
    ++ti_;
    SWAA_RETURN_IF_ERROR(expect_end());
    ++ci_;
    return {};
  }

  // ---- expressions ------------------------------------------------------------------------
  Result<ExprPtr> parse_expr() { return parse_or_ternary(true); }

  Result<ExprPtr> parse_or_ternary(bool allow_cond) {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_or());
    while (allow_cond && peek_name("if")) {
      const int line = next().line;
      auto c = std::make_unique<Expr>(Expr::Kind::kCond, line);
      SWAA_ASSIGN_OR_RETURN(ExprPtr cond, parse_or());
      ExprPtr other;
      if (accept_name("else")) {
        SWAA_ASSIGN_OR_RETURN(other, parse_or_ternary(true));
      }
      c->children.push_back(std::move(cond));
      c->children.push_back(std::move(e));
      c->children.push_back(std::move(other));  // may be null -> undefined
      e = std::move(c);
    }
    return e;
  }

  Result<ExprPtr> parse_or() {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_and());
    while (peek_name("or")) {
      auto n = std::make_unique<Expr>(Expr::Kind::kOr, next().line);
      SWAA_ASSIGN_OR_RETURN(ExprPtr r, parse_and());
      n->children.push_back(std::move(e));
      n->children.push_back(std::move(r));
      e = std::move(n);
    }
    return e;
  }

  Result<ExprPtr> parse_and() {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_not());
    while (peek_name("and")) {
      auto n = std::make_unique<Expr>(Expr::Kind::kAnd, next().line);
      SWAA_ASSIGN_OR_RETURN(ExprPtr r, parse_not());
      n->children.push_back(std::move(e));
      n->children.push_back(std::move(r));
      e = std::move(n);
    }
    return e;
  }

  Result<ExprPtr> parse_not() {
    if (peek_name("not")) {
      auto n = std::make_unique<Expr>(Expr::Kind::kNot, next().line);
      SWAA_ASSIGN_OR_RETURN(ExprPtr a, parse_not());
      n->children.push_back(std::move(a));
      return n;
    }
    return parse_compare();
  }

  Result<ExprPtr> parse_compare() {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_math1());
    ExprPtr cmp;
    while (true) {
      std::string op;
      const Token& t = peek();
      if (t.kind == Token::Kind::kOp &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=")) {
        op = t.text;
        ++ti_;
      } else if (peek_name("in")) {
        op = "in";
        ++ti_;
      } else if (peek_name("not") && ti_ + 1 < toks_->size() && (*toks_)[ti_ + 1].kind == Token::Kind::kName &&
                 (*toks_)[ti_ + 1].text == "in") {
        op = "not in";
        ti_ += 2;
      } else {
        break;
      }
      if (!cmp) {
        cmp = std::make_unique<Expr>(Expr::Kind::kCompare, t.line);
        cmp->children.push_back(std::move(e));
      }
      SWAA_ASSIGN_OR_RETURN(ExprPtr r, parse_math1());
      cmp->ops.push_back(op);
      cmp->children.push_back(std::move(r));
    }
    return cmp ? std::move(cmp) : std::move(e);
  }

  Result<ExprPtr> binary(ExprPtr l, const std::string& op, ExprPtr r, int line) {
    auto n = std::make_unique<Expr>(Expr::Kind::kBinary, line);
    n->name = op;
    n->children.push_back(std::move(l));
    n->children.push_back(std::move(r));
    return n;
  }

  Result<ExprPtr> parse_math1() {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_concat());
    while (peek_op("+") || peek_op("-")) {
      const Token t = next();
      SWAA_ASSIGN_OR_RETURN(ExprPtr r, parse_concat());
      SWAA_ASSIGN_OR_RETURN(e, binary(std::move(e), t.text, std::move(r), t.line));
    }
    return e;
  }

  Result<ExprPtr> parse_concat() {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_math2());
    while (peek_op("~")) {
      const Token t = next();
      SWAA_ASSIGN_OR_RETURN(ExprPtr r, parse_math2());
      SWAA_ASSIGN_OR_RETURN(e, binary(std::move(e), "~", std::move(r), t.line));
    }
    return e;
  }

  Result<ExprPtr> parse_math2() {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_pow());
    while (peek_op("*") || peek_op("/") || peek_op("//") || peek_op("%")) {
      const Token t = next();
      SWAA_ASSIGN_OR_RETURN(ExprPtr r, parse_pow());
      SWAA_ASSIGN_OR_RETURN(e, binary(std::move(e), t.text, std::move(r), t.line));
    }
    return e;
  }

  Result<ExprPtr> parse_pow() {
    SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_unary(true));
    while (peek_op("**")) {
      const Token t = next();
      SWAA_ASSIGN_OR_RETURN(ExprPtr r, parse_unary(true));
      SWAA_ASSIGN_OR_RETURN(e, binary(std::move(e), "**", std::move(r), t.line));
    }
    return e;
  }

  Result<ExprPtr> parse_unary(bool with_filter) {
    ExprPtr e;
    if (peek_op("-") || peek_op("+")) {
      const Token t = next();
      auto n = std::make_unique<Expr>(Expr::Kind::kUnary, t.line);
      n->name = t.text;
      SWAA_ASSIGN_OR_RETURN(ExprPtr a, parse_unary(false));
      n->children.push_back(std::move(a));
      e = std::move(n);
    } else {
      SWAA_ASSIGN_OR_RETURN(e, parse_primary());
    }
    SWAA_ASSIGN_OR_RETURN(e, parse_postfix(std::move(e)));
    if (with_filter) {
      SWAA_ASSIGN_OR_RETURN(e, parse_filters(std::move(e)));
    }
    return e;
  }

  Result<ExprPtr> parse_primary() {
    const Token t = next();
    switch (t.kind) {
      case Token::Kind::kName: {
        if (t.text == "true" || t.text == "True") return literal(Value(true), t.line);
        if (t.text == "false" || t.text == "False") return literal(Value(false), t.line);
        if (t.text == "none" || t.text == "None") return literal(Value::none(), t.line);
        auto n = std::make_unique<Expr>(Expr::Kind::kName, t.line);
        n->name = t.text;
        return n;
      }
      case Token::Kind::kString: {
        std::string s = t.text;
        while (peek().kind == Token::Kind::kString) s += next().text;  // adjacent literals concatenate
        return literal(Value(std::move(s)), t.line);
      }
      case Token::Kind::kInt: return literal(Value(t.int_value), t.line);
      case Token::Kind::kFloat: return literal(Value(t.float_value), t.line);
      case Token::Kind::kOp:
        if (t.text == "(") {
          if (accept_op(")")) return std::make_unique<Expr>(Expr::Kind::kList, t.line);
          SWAA_ASSIGN_OR_RETURN(ExprPtr e, parse_expr());
          if (peek_op(",")) {  // tuple -> list
            auto l = std::make_unique<Expr>(Expr::Kind::kList, t.line);
            l->children.push_back(std::move(e));
            while (accept_op(",")) {
              if (peek_op(")")) break;
              SWAA_ASSIGN_OR_RETURN(ExprPtr x, parse_expr());
              l->children.push_back(std::move(x));
            }
            e = std::move(l);
          }
          if (!accept_op(")")) return err(t.line, "expected ')'");
          return e;
        }
        if (t.text == "[") {
          auto l = std::make_unique<Expr>(Expr::Kind::kList, t.line);
          while (!accept_op("]")) {
            SWAA_ASSIGN_OR_RETURN(ExprPtr x, parse_expr());
            l->children.push_back(std::move(x));
            if (!accept_op(",")) {
              if (!accept_op("]")) return err(t.line, "expected ',' or ']' in list");
              break;
            }
          }
          return l;
        }
        if (t.text == "{") {
          auto d = std::make_unique<Expr>(Expr::Kind::kDict, t.line);
          while (!accept_op("}")) {
            SWAA_ASSIGN_OR_RETURN(ExprPtr k, parse_expr());
            if (!accept_op(":")) return err(t.line, "expected ':' in dict literal");
            SWAA_ASSIGN_OR_RETURN(ExprPtr v, parse_expr());
            d->children.push_back(std::move(k));
            d->children.push_back(std::move(v));
            if (!accept_op(",")) {
              if (!accept_op("}")) return err(t.line, "expected ',' or '}' in dict literal");
              break;
            }
          }
          return d;
        }
        return err(t.line, "unexpected '" + t.text + "'");
      case Token::Kind::kEnd: return err(t.line, "unexpected end of tag");
    }
    return err(t.line, "unexpected token");
  }

  Result<ExprPtr> parse_postfix(ExprPtr e) {
    while (true) {
      if (peek_op(".")) {
        const int line = next().line;
        if (peek().kind != Token::Kind::kName && peek().kind != Token::Kind::kInt) {
          return err(line, "expected an attribute name after '.'");
        }
        const Token t = next();
        auto n = std::make_unique<Expr>(Expr::Kind::kAttr, line);
        n->name = t.kind == Token::Kind::kInt ? std::to_string(t.int_value) : t.text;
        n->children.push_back(std::move(e));
        e = std::move(n);
      } else if (peek_op("[")) {
        const int line = next().line;
        ExprPtr parts[3];
        int nparts = 1;
        bool slice = false;
        if (!peek_op(":")) {
          SWAA_ASSIGN_OR_RETURN(parts[0], parse_expr());
        }
        while (accept_op(":")) {
          slice = true;
          if (nparts == 3) return err(line, "too many ':' in slice");
          if (!peek_op(":") && !peek_op("]")) {
            SWAA_ASSIGN_OR_RETURN(parts[nparts], parse_expr());
          }
          ++nparts;
        }
        if (!accept_op("]")) return err(line, "expected ']'");
        auto n = std::make_unique<Expr>(slice ? Expr::Kind::kSlice : Expr::Kind::kItem, line);
        n->children.push_back(std::move(e));
        for (int k = 0; k < (slice ? 3 : 1); ++k) n->children.push_back(std::move(parts[k]));
        e = std::move(n);
      } else if (peek_op("(")) {
        const int line = next().line;
        auto n = std::make_unique<Expr>(Expr::Kind::kCall, line);
        n->children.push_back(std::move(e));
        SWAA_RETURN_IF_ERROR(parse_args(*n));
        e = std::move(n);
      } else {
        return e;
      }
    }
  }

  // After '(' : positional and keyword arguments up to ')'.
  Status parse_args(Expr& n) {
    while (!accept_op(")")) {
      if (peek().kind == Token::Kind::kName && ti_ + 1 < toks_->size() &&
          (*toks_)[ti_ + 1].kind == Token::Kind::kOp && (*toks_)[ti_ + 1].text == "=") {
        std::string k = next().text;
        ++ti_;
        SWAA_ASSIGN_OR_RETURN(ExprPtr v, parse_expr());
        n.kwargs.emplace_back(std::move(k), std::move(v));
      } else {
        if (peek_op("*") || peek_op("**")) return err(peek().line, "unsupported construct '*args' in call");
        SWAA_ASSIGN_OR_RETURN(ExprPtr v, parse_expr());
        n.children.push_back(std::move(v));
      }
      if (!accept_op(",")) {
        if (!accept_op(")")) return err(peek().line, "expected ',' or ')' in call");
        break;
      }
    }
    return {};
  }

  Result<ExprPtr> parse_filters(ExprPtr e) {
    while (true) {
      if (peek_op("|")) {
        const int line = next().line;
        if (peek().kind != Token::Kind::kName) return err(line, "expected a filter name after '|'");
        auto n = std::make_unique<Expr>(Expr::Kind::kFilter, line);
        n->name = next().text;
        while (accept_op(".")) n->name += "." + next().text;
        n->children.push_back(std::move(e));
        if (accept_op("(")) SWAA_RETURN_IF_ERROR(parse_args(*n));
        e = std::move(n);
      } else if (peek_name("is")) {
        const int line = next().line;
        auto n = std::make_unique<Expr>(Expr::Kind::kTest, line);
        n->negated = accept_name("not");
        if (peek().kind != Token::Kind::kName) return err(line, "expected a test name after 'is'");
        n->name = next().text;
        n->children.push_back(std::move(e));
        if (accept_op("(")) {
          SWAA_RETURN_IF_ERROR(parse_args(*n));
        } else {
          const Token& t = peek();
          const bool arg_follows =
              t.kind == Token::Kind::kString || t.kind == Token::Kind::kInt || t.kind == Token::Kind::kFloat ||
              (t.kind == Token::Kind::kName && t.text != "else" && t.text != "or" && t.text != "and" &&
               t.text != "if" && t.text != "is" && t.text != "in" && t.text != "not") ||
              (t.kind == Token::Kind::kOp && (t.text == "[" || t.text == "{"));
          if (arg_follows) {
            SWAA_ASSIGN_OR_RETURN(ExprPtr a, parse_primary());
            SWAA_ASSIGN_OR_RETURN(a, parse_postfix(std::move(a)));
            n->children.push_back(std::move(a));
          }
        }
        e = std::move(n);
      } else {
        return e;
      }
    }
  }

  // ---- token helpers ----------------------------------------------------------------------
  const Token& peek() const { return (*toks_)[std::min(ti_, toks_->size() - 1)]; }
  Token next() {
    const Token& t = peek();
    if (ti_ < toks_->size() - 1) ++ti_;
    return t;
  }
  bool peek_op(const char* op) const { return peek().kind == Token::Kind::kOp && peek().text == op; }
  bool peek_name(const char* n) const { return peek().kind == Token::Kind::kName && peek().text == n; }
  bool accept_op(const char* op) {
    if (!peek_op(op)) return false;
    ++ti_;
    return true;
  }
  bool accept_name(const char* n) {
    if (!peek_name(n)) return false;
    ++ti_;
    return true;
  }
  Status expect_end() {
    if (peek().kind != Token::Kind::kEnd) {
      const Token& t = peek();
      return err(t.line, "unexpected '" + (t.kind == Token::Kind::kString ? "\"" + t.text + "\"" : t.text) +
                             "' (expected the end of the tag)");
    }
    return {};
  }
  static Result<ExprPtr> literal(Value v, int line) {
    auto n = std::make_unique<Expr>(Expr::Kind::kLiteral, line);
    n->literal = std::move(v);
    return n;
  }
  static Status err(int line, const std::string& msg) {
    return invalid_argument("line " + std::to_string(line) + ": " + msg);
  }

  std::vector<Chunk> chunks_;
  size_t ci_ = 0;
  const std::vector<Token>* toks_ = nullptr;
  size_t ti_ = 0;
};

}  // namespace

Result<std::shared_ptr<const Program>> parse_template(const std::string& source) {
  SWAA_ASSIGN_OR_RETURN(std::vector<Chunk> chunks, lex_template(source));
  Parser p(std::move(chunks));
  return p.run();
}

}  // namespace swaa::jinja
