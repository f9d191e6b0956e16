// Jinja lexer: splits template source into text and tag chunks, applying whitespace control
// (`{%-`, `-%}`, `+%}`) and Transformers' trim_blocks + lstrip_blocks exactly as Jinja2's lexer
// does, and tokenizes the inside of tags. Tests: tests/unit/chat/jinja_test.cc
#pragma once

#include <string>
#include <vector>

#include "swaa/status.h"

namespace swaa::jinja {

struct Token {
  enum class Kind { kName, kString, kInt, kFloat, kOp, kEnd };
  Kind kind = Kind::kEnd;
  std::string text;  // name, operator, or the unescaped string
  int64_t int_value = 0;
  double float_value = 0;
  int line = 0;
};

struct Chunk {
  enum class Kind { kText, kVar, kBlock };
  Kind kind = Kind::kText;
  std::string text;           // kText
  std::vector<Token> tokens;  // kVar, kBlock (ends with a kEnd token)
  int line = 0;
};

Result<std::vector<Chunk>> lex_template(const std::string& source);

}  // namespace swaa::jinja
