// Tokenizer: loads a Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json,
// generation_config.json) and encodes/decodes exactly as Hugging Face `tokenizers` does for the
// supported families (byte-level BPE: Qwen2/2.5/3, Llama 3/3.1; SentencePiece-style BPE with byte
// fallback: Llama 2). Copies share one immutable model; every method is thread-safe.
// Tests: tests/unit/tokenizer/ (parity fixtures from tools/tokenizer_reference/make_fixtures.py).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swaa/status.h"

namespace swaa {

// What tokenizer_config.json and generation_config.json say (all fields optional in the files).
struct TokenizerConfig {
  std::optional<std::string> bos_token, eos_token, pad_token, unk_token;
  std::optional<int32_t> bos_token_id, eos_token_id, pad_token_id;
  bool add_bos_token = false;  // as written; encode() follows tokenizer.json's post_processor
  bool add_eos_token = false;
  std::string chat_template;  // the default template, "" when the files have none
  std::map<std::string, std::string> named_chat_templates;  // list form: {name: template}
  // Ids that end generation: generation_config.json eos_token_id (int or list), else the eos token.
  std::vector<int32_t> stop_token_ids;
};

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json (required) and DIR/tokenizer_config.json, DIR/generation_config.json
  // (optional). Errors name the file, the field and the bad value.
  static Result<Tokenizer> from_dir(const std::string& dir);
  // Same from explicit paths; empty config paths are skipped.
  static Result<Tokenizer> from_files(const std::string& tokenizer_json, const std::string& tokenizer_config = "",
                                      const std::string& generation_config = "");

  // Text -> ids. `text` must be valid UTF-8 (InvalidArgument naming the byte offset otherwise).
  // add_special_tokens applies tokenizer.json's post_processor (e.g. Llama 2's <s>).
  Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens = false) const;

  // Ids -> text, lossy like Hugging Face (unknown ids are skipped, invalid bytes become U+FFFD).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  // The raw bytes one token decodes to on its own: decode({id}) without the U+FFFD repair, so a
  // token holding part of a multi-byte character gives those bytes (OpenAI logprobs' "bytes").
  std::string token_bytes(int32_t id) const;

  int32_t vocab_size() const;  // model vocabulary plus added tokens (max id + 1)
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;  // an added token marked special
  const TokenizerConfig& config() const;

  struct Impl;  // opaque: defined in src/tokenizer/tokenizer_impl.h

 private:
  friend class StreamingDetokenizer;
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Turns generated ids into text pieces as they arrive. Each piece is valid UTF-8; a piece is held
// back while it would end in an incomplete character; the concatenation of every push() and the
// final finish() equals tokenizer.decode(all ids) byte for byte.
class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  std::string push(int32_t id);
  std::string finish();  // whatever is still held back (possibly with U+FFFD for invalid bytes)

 private:
  Tokenizer tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  size_t prefix_offset_ = 0;  // decode window start
  size_t read_offset_ = 0;    // ids [prefix_offset_, read_offset_) are already emitted
};

}  // namespace swaa
