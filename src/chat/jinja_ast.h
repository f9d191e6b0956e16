// The parsed form of a Jinja template: expression and statement nodes, each with its source line
// (for error messages). Built by jinja_parser.cc, run by jinja_interpreter.cc.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace swaa::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral, kName, kList, kDict, kAttr, kItem, kSlice, kCall, kFilter, kTest,
    kUnary, kBinary, kCompare, kAnd, kOr, kNot, kCond,
  };
  Kind kind;
  int line = 0;
  Value literal;                       // kLiteral
  std::string name;                    // kName, kAttr, kFilter, kTest; operator of kUnary/kBinary
  std::vector<ExprPtr> children;       // operands, list items, dict keys/values interleaved, call args
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // kCall, kFilter, kTest
  std::vector<std::string> ops;        // kCompare: operators between children
  bool negated = false;                // kTest: `is not`
  Expr(Kind k, int l) : kind(k), line(l) {}
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind { kText, kEmit, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue, kBlockBody };
  Kind kind;
  int line = 0;
  std::string text;                      // kText
  ExprPtr expr;                          // kEmit, kSet value, kFor iterable
  std::vector<std::pair<ExprPtr, Body>> branches;  // kIf: (condition, body)...
  Body body, else_body;                  // kFor, kSetBlock, kMacro, kBlockBody; kIf/kFor else
  std::vector<std::string> targets;      // kFor loop variables; kSet/kSetBlock names
  std::string attr;                      // kSet `ns.attr = ...`: targets[0] is ns
  ExprPtr filter;                        // kFor `if` condition
  std::string name;                      // kMacro
  std::vector<std::pair<std::string, ExprPtr>> params;  // kMacro (default may be null)
  Stmt(Kind k, int l) : kind(k), line(l) {}
};

struct Program {
  Body body;
};

// Parses template source with Transformers' settings (trim_blocks, lstrip_blocks, loop controls).
// Errors name the line and the construct.
Result<std::shared_ptr<const Program>> parse_template(const std::string& source);

}  // namespace swaa::jinja
