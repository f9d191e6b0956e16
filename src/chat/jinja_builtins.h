// Jinja built-ins: filters (trim, tojson, length, join, map, selectattr, ...), tests (defined,
// none, string, mapping, ...), Python str/dict methods (startswith, split, strip, items, get, ...)
// and global functions (range, namespace, raise_exception, strftime_now). Unknown names are
// reported by name so an unsupported template fails clearly.
#pragma once

#include <functional>
#include <string>

#include "chat/jinja_value.h"

namespace swaa::jinja {

// Evaluates a test by name; select/reject-style filters use it too.
Result<bool> apply_test(const std::string& name, const Value& v, const Args& args);
// `call_filter` lets map() apply another filter by name.
Result<Value> apply_filter(const std::string& name, const Value& v, const Args& args);
// Bound method `obj.name` (nullopt when `obj` has no such method).
std::optional<Value> method(const Value& obj, const std::string& name);
// Global function by name, or nullopt.
std::optional<Value> global_function(const std::string& name);

// Attribute or item lookup with Jinja2's rules (dict key, then method); Undefined when missing.
Value get_attr(const Value& obj, const std::string& name);
Result<Value> get_item(const Value& obj, const Value& key);

}  // namespace swaa::jinja
