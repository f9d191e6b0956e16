// Scorers and answer extraction: RULER substring-all / part, LongBench v2 letters, exact match,
// and the text after the last </think>.
#include <gtest/gtest.h>

#include "eval/scoring.h"

namespace swaa::eval {
namespace {

TEST(Scoring, ExtractAnswerAfterLastThink) {
  EXPECT_EQ(extract_answer("<think>a</think> b </think>  42 ", true), "42");
  EXPECT_EQ(extract_answer("<think>still thinking", true), "");  // thought never finished
  EXPECT_EQ(extract_answer(" plain answer\n", false), "plain answer");
  EXPECT_EQ(extract_answer("<think></think>\n\nParis", false), "Paris");
  EXPECT_EQ(extract_answer("", true), "");
}

TEST(Scoring, SubstringAllIsTheFractionFoundCaseInsensitive) {
  EXPECT_DOUBLE_EQ(score_substring_all("The numbers are 123 and 456.", {"123", "456"}), 1.0);
  EXPECT_DOUBLE_EQ(score_substring_all("only 123", {"123", "456", "789", "000"}), 0.25);
  EXPECT_DOUBLE_EQ(score_substring_all("KITCHEN", {"kitchen"}), 1.0);
  EXPECT_DOUBLE_EQ(score_substring_all("", {"x"}), 0.0);
  EXPECT_DOUBLE_EQ(score(Metric::kSubstringAll, "ab", {"a", "b"}), 1.0);
}

TEST(Scoring, SubstringPartIsAnyReference) {
  EXPECT_DOUBLE_EQ(score_substring_part("it is 456", {"123", "456"}), 1.0);
  EXPECT_DOUBLE_EQ(score_substring_part("nothing", {"123", "456"}), 0.0);
  EXPECT_DOUBLE_EQ(score(Metric::kSubstringPart, "Garden", {"garden", "x"}), 1.0);
}

TEST(Scoring, ChoiceLetter) {
  EXPECT_EQ(extract_choice_letter("The correct answer is (B)"), 'B');
  EXPECT_EQ(extract_choice_letter("Thinking... **The correct answer is C**"), 'C');
  EXPECT_EQ(extract_choice_letter("(D) because"), 'D');
  EXPECT_EQ(extract_choice_letter("A."), 'A');
  EXPECT_EQ(extract_choice_letter("Answer: B"), 'B');
  EXPECT_EQ(extract_choice_letter("no idea"), std::nullopt);
  EXPECT_EQ(extract_choice_letter("Because of X"), std::nullopt);
  EXPECT_DOUBLE_EQ(score_choice("The correct answer is (B)", {"B"}), 1.0);
  EXPECT_DOUBLE_EQ(score_choice("The correct answer is (B)", {"(b)"}), 1.0);
  EXPECT_DOUBLE_EQ(score_choice("The correct answer is (B)", {"A"}), 0.0);
  EXPECT_DOUBLE_EQ(score(Metric::kChoice, "nothing", {"A"}), 0.0);
}

TEST(Scoring, ExactMatchAfterNormalization) {
  EXPECT_EQ(normalize_for_exact("  Answer:  The   Kitchen. "), "the kitchen");
  EXPECT_DOUBLE_EQ(score_exact("\"Paris\"", {"paris"}), 1.0);
  EXPECT_DOUBLE_EQ(score_exact("Paris, France", {"Paris"}), 0.0);
  EXPECT_DOUBLE_EQ(score(Metric::kExact, "42", {"41", "42"}), 1.0);
}

TEST(Scoring, MetricNamesRoundTrip) {
  for (Metric m : {Metric::kSubstringAll, Metric::kSubstringPart, Metric::kChoice, Metric::kExact}) {
    Metric back = Metric::kExact;
    ASSERT_TRUE(parse_metric(metric_name(m), &back));
    EXPECT_EQ(back, m);
  }
  Metric x;
  EXPECT_FALSE(parse_metric("f1", &x));
}

}  // namespace
}  // namespace swaa::eval
