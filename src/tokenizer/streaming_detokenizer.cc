// StreamingDetokenizer: incremental decode over a sliding window of ids (prefix/read offsets, as
// vLLM and HF's DecodeStream do), holding text back while it ends in an incomplete character.
// Tests: tests/unit/tokenizer/streaming_test.cc (concatenation == decode(all), valid UTF-8).
#include "swaa/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace swaa {
namespace {

bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

std::string StreamingDetokenizer::push(int32_t id) {
  ids_.push_back(id);
  const std::span<const int32_t> all(ids_);
  const std::string prev = tokenizer_.impl_->decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_),
                                                    skip_special_);
  const std::string text = tokenizer_.impl_->decode(all.subspan(prefix_offset_), skip_special_);
  if (text.size() <= prev.size() || ends_with_replacement(text) || text.compare(0, prev.size(), prev) != 0) {
    return {};
  }
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  return text.substr(prev.size());
}

std::string StreamingDetokenizer::finish() {
  const std::span<const int32_t> all(ids_);
  const std::string prev = tokenizer_.impl_->decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_),
                                                    skip_special_);
  const std::string text = tokenizer_.impl_->decode(all.subspan(prefix_offset_), skip_special_);
  prefix_offset_ = read_offset_ = ids_.size();
  if (text.size() <= prev.size() || text.compare(0, prev.size(), prev) != 0) return {};
  return text.substr(prev.size());
}

}  // namespace swaa
