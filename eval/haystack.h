// Haystack: the filler text that long-context tasks hide their facts in, as a word stream that
// grows on demand: RULER's noise sentences, generated essay-like prose (seeded), or a user's file
// (--haystack-file, cycled). `assemble` cuts the first n words and inserts sentences at depths,
// always at sentence boundaries. Tests: tests/unit/eval/generators_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eval/rng.h"
#include "swaa/status.h"

namespace swaa::eval {

struct HaystackWord {
  std::string text;
  uint8_t end = 0;  // 0: more follows, 1: ends a sentence, 2: ends a paragraph
};

class Haystack {
 public:
  enum class Kind { kNoise, kEssay, kFile };

  static Haystack noise();
  static Haystack essay(uint64_t seed);
  // Words of a UTF-8 text file, cycled from `offset` (a word index, taken modulo the word count).
  // Errors: NotFound / DataLoss from reading, InvalidArgument when the file has no words.
  static Result<Haystack> from_file(const std::string& path);
  Haystack with_offset(uint64_t offset) const;

  Kind kind() const { return kind_; }
  // The first n words (generated as needed). The reference stays valid until the next call.
  const std::vector<HaystackWord>& words(size_t n);

 private:
  Haystack(Kind kind, uint64_t seed) : kind_(kind), rng_(seed) {}
  void extend();

  Kind kind_;
  Rng rng_;
  std::vector<HaystackWord> words_;
  std::shared_ptr<const std::vector<HaystackWord>> file_words_;
  size_t file_pos_ = 0;
};

struct Insertion {
  double depth = 0;  // 0 = before the first word, 1 = after the last
  std::string text;  // one or more whole sentences
};

// The first `num_words` words of `haystack` with each insertion placed at the sentence boundary
// nearest to depth * num_words (insertions at one boundary keep their order). Words are joined by
// spaces, paragraphs by blank lines.
std::string assemble(Haystack& haystack, size_t num_words, const std::vector<Insertion>& insertions);

// Splits text into words on whitespace, marking sentence ends (. ! ?) and paragraph ends (blank lines).
std::vector<HaystackWord> split_words(const std::string& text);

}  // namespace swaa::eval
