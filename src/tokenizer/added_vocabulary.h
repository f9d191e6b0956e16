// Added tokens of tokenizer.json ("added_tokens"): found in the input before normalization
// (normalized = false) or after it (normalized = true), leftmost-longest like Hugging Face's
// Aho-Corasick, honouring single_word, lstrip and rstrip. Pieces between them go on to the model.
// Tests: tests/unit/tokenizer/added_vocabulary_test.cc and the fixture parity test.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "swaa/status.h"

namespace swaa::tok {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  std::string match;  // what is searched for: content, or normalizer(content) when normalized
  bool single_word = false, lstrip = false, rstrip = false, normalized = false, special = false;
};

// One piece of split input: an added token (id >= 0) or text (id == -1).
struct Segment {
  int32_t id = -1;
  size_t begin = 0, end = 0;  // byte range in the string that was split
};

class AddedVocabulary {
 public:
  // `normalize` maps a normalized=true token's content to the form it is matched (and decoded) in.
  static Result<AddedVocabulary> from_json(const nlohmann::json& added_tokens,
                                           const std::function<std::string(const std::string&)>& normalize);

  // Splits `text` on the tokens with normalized == `normalized`. Text segments may be empty.
  std::vector<Segment> split(std::string_view text, bool normalized) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(std::string_view content) const;
  bool has_normalized() const { return !tries_[1].empty(); }

 private:
  struct TrieNode {
    std::unordered_map<unsigned char, int32_t> next;
    int32_t token = -1;  // index into tokens_
  };
  // Longest token starting at `pos`, or -1.
  int32_t longest_at(std::string_view text, size_t pos, bool normalized, size_t& len) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  std::vector<TrieNode> tries_[2];
  bool first_byte_[2][256] = {};
};

}  // namespace swaa::tok
