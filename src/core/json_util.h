// Reading JSON files and fields with errors that name the file, the field and the bad value.
// Tests: tests/unit/core/json_util_test.cc
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "swaa/status.h"

namespace swaa {

// Whole file as bytes; NotFound when missing, DataLoss when unreadable.
Result<std::string> read_file(const std::string& path);

// Parses `path` as JSON; the error names the file and the parse position.
Result<nlohmann::json> read_json_file(const std::string& path);

// Short rendering of a JSON value for error messages (at most ~60 characters).
std::string json_snippet(const nlohmann::json& value);

}  // namespace swaa
