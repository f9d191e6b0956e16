// Tokenizer::Impl: the parsed pipeline (added tokens -> normalizer -> pre-tokenizer -> BPE ->
// post-processor; decoder for the way back). Private to src/tokenizer.
#pragma once

#include <memory>
#include <unordered_set>

#include "swaa/tokenizer.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"

namespace swaa {

struct Tokenizer::Impl {
  tok::AddedVocabulary added;
  tok::Normalizer normalizer;
  tok::PreTokenizer pre_tokenizer;
  std::unique_ptr<tok::BpeModel> model;
  tok::PostProcessor post_processor;
  tok::Decoder decoder;
  TokenizerConfig config;
  int32_t vocab_size = 0;

  Status encode_piece(std::string text, bool at_origin, std::vector<int32_t>& ids) const;
  std::string decode(std::span<const int32_t> ids, bool skip_special, bool lossy = true) const;
};

// tokenizer_config.json / generation_config.json -> TokenizerConfig (ids resolved via `impl`).
Status load_tokenizer_config(const std::string& path, const Tokenizer::Impl& impl, TokenizerConfig& cfg);
Status load_generation_config(const std::string& path, TokenizerConfig& cfg);

}  // namespace swaa
