// tokenizer.json "decoder": ByteLevel, Metaspace, Replace (literal), ByteFallback, Fuse, Strip and
// Sequence, applied to the list of token strings exactly as Hugging Face chains them.
// Tests: tests/unit/tokenizer/decoder_test.cc and the fixture parity test (random id lists).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "swaa/status.h"

namespace swaa::tok {

class Decoder {
 public:
  static Result<Decoder> from_json(const nlohmann::json& spec);

  // Token strings -> text (valid UTF-8). Without any decoder the tokens are joined with spaces.
  // lossy = false keeps invalid byte sequences as raw bytes instead of U+FFFD (token_bytes()).
  std::string decode(std::vector<std::string> tokens, bool lossy = true) const;

 private:
  enum class Kind { kByteLevel, kMetaspace, kReplace, kByteFallback, kFuse, kStrip };
  struct Step {
    Kind kind;
    std::string a, b;          // Replace: pattern, content; Metaspace: replacement; Strip: content
    int start = 0, stop = 0;   // Strip
    bool prepend = true;       // Metaspace: strip the prefix of the first token
  };
  static Status add(const nlohmann::json& spec, std::vector<Step>& steps);
  std::vector<Step> steps_;
  bool none_ = true;
};

}  // namespace swaa::tok
