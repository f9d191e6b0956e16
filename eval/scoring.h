// Scoring of model outputs, as the paper's evaluation does it: the answer is the text after the
// last "</think>" for thinking models; RULER's case-insensitive substring match over all
// references (fraction found) or any reference; the multiple-choice letter (LongBench v2); exact
// match after normalization. Scores are in [0, 1]. Tests: tests/unit/eval/scoring_test.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/eval_sample.h"

namespace swaa::eval {

// Text after the last "</think>". When `thinking` is true (the model was asked to think) and the
// output has no "</think>", the answer is empty (the thought never finished); otherwise the
// whole output is the answer. Leading/trailing whitespace is trimmed.
std::string extract_answer(std::string_view output, bool thinking);

// Fraction of references contained in the prediction, case-insensitively (RULER string_match_all).
double score_substring_all(std::string_view prediction, const std::vector<std::string>& references);
// 1 if any reference is contained in the prediction (RULER string_match_part).
double score_substring_part(std::string_view prediction, const std::vector<std::string>& references);
// The letter of a multiple-choice answer: "The correct answer is (B)", "The correct answer is B",
// "(B)", "B.", "B)", "B" or "Answer: B" at the start; nullopt when none is found.
std::optional<char> extract_choice_letter(std::string_view prediction);
// 1 if the extracted letter equals the reference's letter ("B", "(B)", "b").
double score_choice(std::string_view prediction, const std::vector<std::string>& references);
// Lower case, whitespace collapsed, surrounding punctuation and quotes and a leading "answer:" removed.
std::string normalize_for_exact(std::string_view text);
// 1 if the normalized prediction equals a normalized reference.
double score_exact(std::string_view prediction, const std::vector<std::string>& references);

double score(Metric metric, std::string_view prediction, const std::vector<std::string>& references);

}  // namespace swaa::eval
