// Jinja lexer; see jinja_lexer.h.
#include "chat/jinja_lexer.h"

#include <cctype>
#include <cstring>

#include "tokenizer/utf8.h"

namespace swaa::jinja {
namespace {

std::string normalize_newlines(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(const std::string& src) : src_(src) {}

  Result<std::vector<Chunk>> run() {
    std::vector<Chunk> out;
    size_t pos = 0;
    bool strip_next = false;    // previous tag ended with '-'
    bool line_starting = true;  // the text about to be read starts a line
    while (pos <= src_.size()) {
      const size_t tpos = find_tag(pos);
      std::string text = src_.substr(pos, (tpos == std::string::npos ? src_.size() : tpos) - pos);
      if (strip_next) {
        size_t k = 0;
        while (k < text.size() && is_space(text[k])) ++k;
        text.erase(0, k);
      }
      if (tpos == std::string::npos) {
        emit_text(out, text, pos);
        break;
      }
      const char kind = src_[tpos + 1];  // '{', '%' or '#'
      const char mod = tpos + 2 < src_.size() ? src_[tpos + 2] : '\0';
      if (mod == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (kind != '{' && mod != '+') {  // lstrip_blocks
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos > 0 || (line_starting && !strip_next)) {
          bool ws = l_pos < text.size();
          for (size_t k = l_pos; k < text.size(); ++k) ws = ws && is_space(text[k]);
          if (ws) text.erase(l_pos);
        }
      }
      emit_text(out, text, pos);
      size_t body = tpos + 2 + ((mod == '-' || mod == '+') ? 1 : 0);
      const int line = line_at(tpos);
      size_t end = 0;
      bool strip_after = false, plus_after = false;
      if (kind == '#') {
        const size_t close = src_.find("#}", body);
        if (close == std::string::npos) return invalid_argument(at(line) + "unclosed comment '{#'");
        strip_after = close > body && src_[close - 1] == '-';
        plus_after = close > body && src_[close - 1] == '+';
        end = close + 2;
      } else {
        Chunk c;
        c.kind = kind == '{' ? Chunk::Kind::kVar : Chunk::Kind::kBlock;
        c.line = line;
        SWAA_RETURN_IF_ERROR(tokenize(body, kind == '{' ? '}' : '%', c.tokens, end, strip_after, plus_after));
        if (c.kind == Chunk::Kind::kBlock && c.tokens.size() == 2 && c.tokens[0].text == "raw" &&
            c.tokens[0].kind == Token::Kind::kName) {
          SWAA_RETURN_IF_ERROR(raw_block(end, line, out, strip_after, end, strip_after, plus_after));
        } else {
          out.push_back(std::move(c));
        }
      }
      pos = end;
      if (!strip_after && kind != '{' && !plus_after && pos < src_.size() && src_[pos] == '\n') ++pos;  // trim_blocks
      line_starting = pos > 0 && src_[pos - 1] == '\n';
      strip_next = strip_after;
      if (pos == src_.size()) break;
    }
    return out;
  }

 private:
  std::string at(int line) const { return "line " + std::to_string(line) + ": "; }

  int line_at(size_t off) {
    while (line_off_ < off && line_off_ < src_.size()) {
      if (src_[line_off_] == '\n') ++line_;
      ++line_off_;
    }
    return line_;
  }

  size_t find_tag(size_t pos) const {
    for (size_t p = src_.find('{', pos); p != std::string::npos; p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) return p;
    }
    return std::string::npos;
  }

  void emit_text(std::vector<Chunk>& out, const std::string& text, size_t pos) {
    if (text.empty()) return;
    Chunk c;
    c.kind = Chunk::Kind::kText;
    c.text = text;
    c.line = line_at(pos);
    out.push_back(std::move(c));
  }

  // {% raw %}...{% endraw %}: the body is text, verbatim.
  Status raw_block(size_t from, int line, std::vector<Chunk>& out, bool strip_open, size_t& end, bool& strip_after,
                   bool& plus_after) {
    for (size_t p = src_.find("{%", from); p != std::string::npos; p = src_.find("{%", p + 2)) {
      size_t q = p + 2;
      const bool strip_before = q < src_.size() && src_[q] == '-';
      if (strip_before || (q < src_.size() && src_[q] == '+')) ++q;
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && is_space(src_[q])) ++q;
      strip_after = q < src_.size() && src_[q] == '-';
      plus_after = q < src_.size() && src_[q] == '+';
      if (strip_after || plus_after) ++q;
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string text = src_.substr(from, p - from);
      if (strip_open) {
        size_t k = 0;
        while (k < text.size() && is_space(text[k])) ++k;
        text.erase(0, k);
      }
      if (strip_before) {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      }
      emit_text(out, text, from);
      end = q + 2;
      return {};
    }
    return invalid_argument(at(line) + "'{% raw %}' without '{% endraw %}'");
  }

  Status tokenize(size_t p, char closer, std::vector<Token>& toks, size_t& end, bool& strip_after, bool& plus_after) {
    static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=",
                                 "(", ")", "[", "]", "{", "}", ",", ".", ":", "|"};
    int depth = 0;
    while (true) {
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (p >= src_.size()) return invalid_argument(at(line_at(p)) + "unclosed tag");
      const int line = line_at(p);
      // closing delimiter, with optional '-' / '+'
      if (depth == 0) {
        size_t q = p;
        bool minus = false, plus = false;
        if (src_[q] == '-' || src_[q] == '+') {
          minus = src_[q] == '-';
          plus = src_[q] == '+';
          ++q;
        }
        if (q + 1 < src_.size() && src_[q] == closer && src_[q + 1] == '}') {
          strip_after = minus;
          plus_after = plus;
          end = q + 2;
          Token t;
          t.kind = Token::Kind::kEnd;
          t.line = line;
          toks.push_back(t);
          return {};
        }
      }
      Token t;
      t.line = line;
      const char c = src_[p];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t q = p;
        while (q < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        t.kind = Token::Kind::kName;
        t.text = src_.substr(p, q - p);
        p = q;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t q = p;
        while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        bool is_float = false;
        if (q + 1 < src_.size() && src_[q] == '.' && std::isdigit(static_cast<unsigned char>(src_[q + 1]))) {
          is_float = true;
          ++q;
          while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        }
        if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
          size_t r = q + 1;
          if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
          if (r < src_.size() && std::isdigit(static_cast<unsigned char>(src_[r]))) {
            is_float = true;
            q = r;
            while (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) ++q;
          }
        }
        std::string num;
        for (size_t k = p; k < q; ++k) {
          if (src_[k] != '_') num.push_back(src_[k]);
        }
        if (is_float) {
          t.kind = Token::Kind::kFloat;
          t.float_value = std::stod(num);
        } else {
          t.kind = Token::Kind::kInt;
          t.int_value = std::stoll(num);
        }
        p = q;
      } else if (c == '\'' || c == '"') {
        t.kind = Token::Kind::kString;
        size_t q = p + 1;
        std::string s;
        while (q < src_.size() && src_[q] != c) {
          if (src_[q] == '\\' && q + 1 < src_.size()) {
            SWAA_RETURN_IF_ERROR(unescape(q, s, line));
          } else {
            s.push_back(src_[q++]);
          }
        }
        if (q >= src_.size()) return invalid_argument(at(line) + "unterminated string literal");
        t.text = normalize_newlines(s);
        p = q + 1;
      } else {
        bool found = false;
        for (const char* op : kOps) {
          const size_t n = std::strlen(op);
          if (src_.compare(p, n, op) == 0) {
            t.kind = Token::Kind::kOp;
            t.text = op;
            p += n;
            found = true;
            break;
          }
        }
        if (!found) return invalid_argument(at(line) + "unexpected character '" + std::string(1, c) + "' in tag");
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if (t.text == ")" || t.text == "]" || t.text == "}") --depth;
      }
      toks.push_back(std::move(t));
    }
  }

  // Python string escapes (what Jinja2's lexer accepts).
  Status unescape(size_t& q, std::string& s, int line) {
    const char e = src_[q + 1];
    q += 2;
    auto hex = [&](int n) -> Result<char32_t> {
      if (q + static_cast<size_t>(n) > src_.size()) return invalid_argument(at(line) + "bad escape in string");
      char32_t v = 0;
      for (int k = 0; k < n; ++k) {
        const char h = src_[q + static_cast<size_t>(k)];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return invalid_argument(at(line) + "bad escape in string");
        v = v * 16 + static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                                                       : (std::tolower(h) - 'a' + 10));
      }
      q += static_cast<size_t>(n);
      return v;
    };
    switch (e) {
      case 'n': s.push_back('\n'); break;
      case 't': s.push_back('\t'); break;
      case 'r': s.push_back('\r'); break;
      case '\\': s.push_back('\\'); break;
      case '\'': s.push_back('\''); break;
      case '"': s.push_back('"'); break;
      case '0': s.push_back('\0'); break;
      case 'a': s.push_back('\a'); break;
      case 'b': s.push_back('\b'); break;
      case 'f': s.push_back('\f'); break;
      case 'v': s.push_back('\v'); break;
      case '\n': break;
      case 'x': {
        SWAA_ASSIGN_OR_RETURN(char32_t v, hex(2));
        tok::utf8_append(s, v);
        break;
      }
      case 'u': {
        SWAA_ASSIGN_OR_RETURN(char32_t v, hex(4));
        tok::utf8_append(s, v);
        break;
      }
      case 'U': {
        SWAA_ASSIGN_OR_RETURN(char32_t v, hex(8));
        tok::utf8_append(s, v);
        break;
      }
      default:
        s.push_back('\\');
        s.push_back(e);
    }
    return {};
  }

  const std::string& src_;
  size_t line_off_ = 0;
  int line_ = 1;
};

}  // namespace

Result<std::vector<Chunk>> lex_template(const std::string& source) {
  std::string src = normalize_newlines(source);
  if (!src.empty() && src.back() == '\n') src.pop_back();  // Jinja2 keep_trailing_newline = False
  Lexer lexer(src);
  SWAA_ASSIGN_OR_RETURN(std::vector<Chunk> chunks, lexer.run());
  return chunks;
}

}  // namespace swaa::jinja
