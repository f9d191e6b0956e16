// Haystack word streams and needle insertion at sentence boundaries (see haystack.h).
#include "eval/haystack.h"

#include <algorithm>
#include <cmath>

#include "core/json_util.h"
#include "eval/word_lists.h"

namespace swaa::eval {
namespace {

// Essay paragraphs hold 4..8 sentences, as short web essays do.
constexpr int kMinParagraphSentences = 4, kMaxParagraphSentences = 8;

void append_sentence(std::vector<HaystackWord>& out, const std::string& sentence, bool end_paragraph) {
  std::vector<HaystackWord> w = split_words(sentence);
  if (w.empty()) return;
  for (auto& x : w) x.end = 0;
  w.back().end = end_paragraph ? 2 : 1;
  out.insert(out.end(), w.begin(), w.end());
}

bool is_sentence_end(const std::string& word) {
  const char c = word.back();
  return c == '.' || c == '!' || c == '?' ||
         (word.size() >= 2 && (c == '"' || c == '\'' || c == ')') &&
          (word[word.size() - 2] == '.' || word[word.size() - 2] == '!' || word[word.size() - 2] == '?'));
}

}  // namespace

std::vector<HaystackWord> split_words(const std::string& text) {
  std::vector<HaystackWord> out;
  size_t i = 0;
  int newlines = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (c == '\n') ++newlines;
      ++i;
      continue;
    }
    if (newlines >= 2 && !out.empty()) out.back().end = 2;
    newlines = 0;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\r' && text[j] != '\n') ++j;
    HaystackWord w{text.substr(i, j - i), 0};
    if (is_sentence_end(w.text)) w.end = 1;
    out.push_back(std::move(w));
    i = j;
  }
  return out;
}

Haystack Haystack::noise() { return Haystack(Kind::kNoise, 0); }
Haystack Haystack::essay(uint64_t seed) { return Haystack(Kind::kEssay, seed); }

Result<Haystack> Haystack::from_file(const std::string& path) {
  SWAA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  auto words = std::make_shared<std::vector<HaystackWord>>(split_words(text));
  if (words->empty()) return invalid_argument("--haystack-file " + path + ": the file has no words");
  words->back().end = std::max<uint8_t>(words->back().end, 1);  // the cycle restarts a sentence
  Haystack h(Kind::kFile, 0);
  h.file_words_ = std::move(words);
  return h;
}

Haystack Haystack::with_offset(uint64_t offset) const {
  Haystack h = *this;
  h.words_.clear();
  h.rng_ = Rng(offset);
  if (file_words_) h.file_pos_ = offset % file_words_->size();
  return h;
}

void Haystack::extend() {
  switch (kind_) {
    case Kind::kNoise: {
      const auto& s = words::noise_sentences();
      for (const auto& sentence : s) append_sentence(words_, sentence, false);
      break;
    }
    case Kind::kEssay: {
      const int n = rng_.uniform_int(kMinParagraphSentences, kMaxParagraphSentences);
      for (int i = 0; i < n; ++i) append_sentence(words_, words::essay_sentence(rng_), i + 1 == n);
      break;
    }
    case Kind::kFile: {
      const size_t chunk = std::min<size_t>(file_words_->size(), 4096);
      for (size_t i = 0; i < chunk; ++i) {
        words_.push_back((*file_words_)[file_pos_]);
        file_pos_ = (file_pos_ + 1) % file_words_->size();
      }
      break;
    }
  }
}

const std::vector<HaystackWord>& Haystack::words(size_t n) {
  while (words_.size() < n) extend();
  return words_;
}

std::string assemble(Haystack& haystack, size_t num_words, const std::vector<Insertion>& insertions) {
  const std::vector<HaystackWord>& w = haystack.words(num_words);
  // Sentence boundaries: before word 0, after every sentence end, and after the last word.
  std::vector<size_t> boundaries = {0};
  for (size_t i = 0; i < num_words; ++i) {
    if (w[i].end != 0 && i + 1 < num_words) boundaries.push_back(i + 1);
  }
  if (num_words > 0) boundaries.push_back(num_words);
  // at[k] = insertions placed before word k (k == num_words: after the last word).
  std::vector<std::vector<const std::string*>> at(num_words + 1);
  for (const Insertion& ins : insertions) {
    const double target = std::clamp(ins.depth, 0.0, 1.0) * static_cast<double>(num_words);
    auto it = std::lower_bound(boundaries.begin(), boundaries.end(), static_cast<size_t>(std::llround(target)));
    size_t best = it == boundaries.end() ? boundaries.back() : *it;
    if (it != boundaries.begin()) {
      const size_t prev = *(it - 1);
      if (it == boundaries.end() || target - static_cast<double>(prev) <= static_cast<double>(best) - target) best = prev;
    }
    at[best].push_back(&ins.text);
  }
  std::string out;
  out.reserve(num_words * 7);
  auto sep = [&](uint8_t prev_end) {
    if (out.empty()) return;
    out += prev_end == 2 ? "\n\n" : " ";
  };
  uint8_t prev_end = 1;
  for (size_t k = 0; k <= num_words; ++k) {
    for (const std::string* s : at[k]) {
      sep(prev_end);
      out += *s;
      prev_end = 1;
    }
    if (k == num_words) break;
    sep(prev_end);
    out += w[k].text;
    prev_end = w[k].end;
  }
  return out;
}

}  // namespace swaa::eval
