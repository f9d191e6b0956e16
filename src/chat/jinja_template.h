// A parsed Jinja template and its renderer: Jinja2 semantics (scoping of `set` in loops, loop
// variables, macros, Undefined) for the subset chat templates use. Render errors name the line.
// Tests: tests/unit/chat/jinja_test.cc, chat_template_test.cc
#pragma once

#include <memory>
#include <string>

#include "chat/jinja_ast.h"
#include "chat/jinja_value.h"

namespace swaa::jinja {

class Template {
 public:
  static Result<Template> parse(const std::string& source);
  // `context` must be a dict; its keys are the template's variables.
  Result<std::string> render(const Value& context) const;

 private:
  std::shared_ptr<const Program> program_;
};

}  // namespace swaa::jinja
