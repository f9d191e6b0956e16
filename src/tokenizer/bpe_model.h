// tokenizer.json "model" of type BPE: vocabulary, ranked merges (string "a b" or pair form),
// byte_fallback to <0xXX> tokens, unk with fuse_unk, ignore_merges. A word is merged with a
// priority queue over adjacent pairs (lowest rank, then leftmost first), which is exactly Hugging
// Face's order; results are cached per word. Thread-safe.
// Tests: tests/unit/tokenizer/bpe_model_test.cc and the fixture parity test.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "swaa/status.h"

namespace swaa::tok {

// Hash for std::string keys that also accepts string_view lookups (no temporary strings).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  static Result<std::unique_ptr<BpeModel>> from_json(const nlohmann::json& model);

  // Appends the ids of `word` (one pre-token) to `out`.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int32_t id) const;  // nullptr when not in the model's vocabulary
  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  struct MergeTable;  // (left id, right id) -> (rank, merged id), open addressing
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;
  int32_t char_id(std::string_view ch, bool first, bool last) const;

  // Vocabulary index: open addressing over ids; slot = (hash high 32 bits) << 32 | (id + 1), 0 = empty.
  // Keys live only in id_to_token_ (no node per token: loads 151k tokens without 151k allocations).
  int32_t lookup(std::string_view token) const;
  void index_insert(int32_t id);
  std::vector<uint64_t> slots_;
  uint64_t slot_mask_ = 0;
  std::vector<std::string> id_to_token_;
  std::vector<int32_t> bmp_char_id_;  // code point < 0x10000 -> id of the one-character token, -1 none
  std::shared_ptr<const MergeTable> merges_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  std::string continuing_subword_prefix_, end_of_word_suffix_;
  int32_t byte_ids_[256];  // <0xXX> ids for byte_fallback, -1 when absent

  static constexpr size_t kCacheMaxEntries = 200000;  // ~20 MB for typical words
  static constexpr size_t kCacheMaxWordBytes = 128;
  mutable std::mutex cache_mu_;
  mutable StringMap<std::vector<int32_t>> cache_;
};

}  // namespace swaa::tok
