// tokenizer.json "pre_tokenizer": Split (PCRE2 regex with UTF + UCP, JIT-compiled, so `\p{L}`,
// `\p{N}` and the `\s+(?!\S)` lookahead behave as in Hugging Face's Oniguruma), ByteLevel,
// Metaspace and Sequence. Turns one piece of normalized text into the words BPE sees.
// Tests: tests/unit/tokenizer/pre_tokenizer_test.cc and the fixture parity test.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "swaa/status.h"

namespace swaa::tok {

struct Piece {
  std::string text;
  bool at_origin = false;  // starts at offset 0 of the original input (Metaspace "first")
};

class Regex;  // PCRE2 code, shared between copies

class PreTokenizer {
 public:
  static Result<PreTokenizer> from_json(const nlohmann::json& spec);

  // Calls on_word(word) for each word of `text`, in order. No intermediate copies for the common
  // Split + ByteLevel chain: words are views into a buffer valid during the call.
  Status for_each_word(std::string_view text, bool at_origin,
                       const std::function<void(std::string_view)>& on_word) const;
  // Same, collected (for tests).
  Status apply(Piece piece, std::vector<Piece>& out) const;
  bool byte_level() const { return byte_level_; }

 private:
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
  struct Step {
    Kind kind;
    std::shared_ptr<const Regex> regex;  // Split, ByteLevel with use_regex
    Behavior behavior = Behavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // ByteLevel
    std::string replacement;        // Metaspace
    int prepend_scheme = 0;         // Metaspace: 0 always, 1 first, 2 never
    bool split = true;              // Metaspace
  };
  static Status add(const nlohmann::json& spec, std::vector<Step>& steps);
  static Status apply_step(const Step& step, std::vector<Piece>& pieces);
  Status run_from(size_t step_idx, std::string_view text, bool at_origin,
                  const std::function<void(std::string_view)>& on_word) const;
  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace swaa::tok
