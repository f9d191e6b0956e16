// Value: the dynamic type of swaa's Jinja interpreter, with Python semantics where templates can see
// them: None/True/False spelling, reference-shared lists and dicts (insertion-ordered), Python
// repr for printed containers, Transformers' `tojson` (json.dumps, ensure_ascii=False).
// Tests: tests/unit/chat/jinja_test.cc
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "swaa/status.h"

namespace swaa::jinja {

class Value;
using List = std::vector<Value>;
struct Dict;
struct Callable;

class Value {
 public:
  enum class Type { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() = default;  // undefined
  static Value undefined(std::string name = {}) {
    Value v;
    v.str_ = std::move(name);  // remembered for error messages
    return v;
  }
  static Value none() { return Value(Type::kNone); }
  Value(bool b) : type_(Type::kBool), int_(b) {}  // NOLINT
  Value(int64_t i) : type_(Type::kInt), int_(i) {}  // NOLINT
  Value(int i) : type_(Type::kInt), int_(i) {}  // NOLINT
  Value(double d) : type_(Type::kFloat), float_(d) {}  // NOLINT
  Value(std::string s) : type_(Type::kString), str_(std::move(s)) {}  // NOLINT
  Value(const char* s) : type_(Type::kString), str_(s) {}  // NOLINT
  Value(List l);  // NOLINT
  Value(std::shared_ptr<Dict> d);  // NOLINT
  Value(std::shared_ptr<Callable> c);  // NOLINT

  static Value from_json(const nlohmann::ordered_json& j);
  static Value new_dict();

  Type type() const { return type_; }
  bool is_undefined() const { return type_ == Type::kUndefined; }
  bool is_none() const { return type_ == Type::kNone; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt || type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kFloat || type_ == Type::kBool; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_list() const { return type_ == Type::kList; }
  bool is_dict() const { return type_ == Type::kDict; }
  bool is_callable() const { return type_ == Type::kCallable; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return type_ == Type::kFloat ? static_cast<int64_t>(float_) : int_; }
  double as_float() const { return type_ == Type::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return str_; }
  const std::string& undefined_name() const { return str_; }
  List& list() const { return *list_; }
  Dict& dict() const { return *dict_; }
  const std::shared_ptr<List>& list_ptr() const { return list_; }
  Callable& callable() const { return *callable_; }

  bool truthy() const;
  std::string str() const;   // Python str(): what {{ value }} prints
  std::string repr() const;  // Python repr()
  struct JsonStyle {  // Python json.dumps keyword arguments
    int indent = -1;    // -1 = None
    std::string item_sep = ", ", key_sep = ": ";
    bool sort_keys = false, ensure_ascii = false;
  };
  Status to_json(std::string& out, const JsonStyle& style, int depth = 0) const;
  bool equals(const Value& o) const;
  std::string type_name() const;  // Python type name for messages

 private:
  explicit Value(Type t) : type_(t) {}
  Type type_ = Type::kUndefined;
  int64_t int_ = 0;
  double float_ = 0;
  std::string str_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Callable> callable_;
};

// Insertion-ordered dict with string keys (what chat messages and tool schemas are).
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // namespace(): the only object `set ns.attr = ...` may change
  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value v);
};

// Positional and keyword arguments of a call.
struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  const Value* get(size_t i, const char* name) const;  // positional i or keyword `name`
};

struct Callable {
  std::string name;
  std::function<Result<Value>(const Args&)> fn;
};

std::string python_float_repr(double d);

}  // namespace swaa::jinja
