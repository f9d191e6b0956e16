// Word lists of the synthetic tasks: needle keys (adjective-noun pairs), the essay generator's
// vocabulary, names/rooms/objects of the bAbI-like story, and unique pseudo-words for the word
// counting tasks. Invariant: no list shares a word with another, so a task's answer never occurs in
// generated filler. Tests: tests/unit/eval/generators_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/rng.h"

namespace swaa::eval::words {

const std::vector<std::string>& key_adjectives();
const std::vector<std::string>& key_nouns();
// One essay-like sentence (capitalised, ends with a period).
std::string essay_sentence(Rng& rng);
const std::vector<std::string>& noise_sentences();  // RULER's noise paragraph, sentence by sentence

const std::vector<std::string>& people();
const std::vector<std::string>& rooms();
const std::vector<std::string>& objects();

// A unique six-letter lower-case pseudo-word for every index < kNumPseudoWords ("bakodu").
inline constexpr uint64_t kNumPseudoWords = 14ULL * 5 * 14 * 5 * 14 * 5;
std::string pseudo_word(uint64_t index);

}  // namespace swaa::eval::words
