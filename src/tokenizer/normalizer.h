// tokenizer.json "normalizer": NFC/NFD/NFKC/NFKD (ICU), Lowercase, Prepend, Replace (literal
// pattern), Strip and Sequence. Applied to each piece of text between added tokens, as Hugging Face
// does (so Prepend acts once per piece, and never on an empty piece).
// Tests: tests/unit/tokenizer/normalizer_test.cc and the fixture parity test.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "swaa/status.h"

namespace swaa::tok {

class Normalizer {
 public:
  // `spec` is the JSON value of "normalizer" (null means none). Unknown types -> Unimplemented.
  static Result<Normalizer> from_json(const nlohmann::json& spec);

  bool empty() const { return steps_.empty(); }
  void apply(std::string& text) const;

 private:
  enum class Kind { kNfc, kNfd, kNfkc, kNfkd, kLowercase, kPrepend, kReplace, kStrip };
  struct Step {
    Kind kind;
    std::string a;  // Prepend: the prefix; Replace: the pattern
    std::string b;  // Replace: the content
    bool left = false, right = false;  // Strip
  };
  static Status add(const nlohmann::json& spec, std::vector<Step>& steps);
  std::vector<Step> steps_;
};

}  // namespace swaa::tok
