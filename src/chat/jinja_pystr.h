// Python string and sequence semantics shared by the Jinja built-ins: str.strip/split/replace,
// Unicode case mapping (ICU, as Python's str.upper/lower/title/capitalize), len(), iteration,
// ordering. Tests: tests/unit/chat/jinja_test.cc (against live Jinja2).
#pragma once

#include <functional>
#include <string>

#include "chat/jinja_value.h"

namespace swaa::jinja {

Status type_error(const std::string& what);
bool is_py_space(char c);
// str.strip/lstrip/rstrip; `chars` null or None means whitespace.
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right);
List py_split(const std::string& s, const Value* sep, int64_t maxsplit);
std::string py_replace(const std::string& s, const std::string& a, const std::string& b, int64_t count);
std::string ascii_case(const std::string& s, bool upper);  // str.upper()/lower(), full Unicode mapping
std::string py_title(const std::string& s);                 // str.title()
std::string py_capitalize(const std::string& s);            // str.capitalize()
std::string jinja_title(const std::string& s);              // Jinja's `title` filter
Result<List> to_list(const Value& v, const char* who);      // list(v): chars of a str, keys of a dict
int64_t py_len(const Value& v);                             // len(v) in code points for str
int py_compare(const Value& a, const Value& b);             // <0, 0, >0 for numbers and strings
Value attr_path(const Value& v, const std::string& path);   // "a.b" attribute chain
Value make_fn(const std::string& name, std::function<Result<Value>(const Args&)> fn);

}  // namespace swaa::jinja
