// Synthetic task generators: prompt length within 1% of the target (and never above it) in the
// model's own tokens for byte-level, Qwen3, Llama 3 and Llama 2 tokenizers; each needle exactly
// once; every answer re-derived from the prompt text by an independent parser; depth sweep;
// determinism; haystack files; length fitting and needle placement.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "eval/haystack.h"
#include "eval/length_fit.h"
#include "eval/synthetic_tasks.h"
#include "eval/task_util.h"
#include "eval/word_lists.h"
#include "eval_test_util.h"

namespace swaa::eval {
namespace {

using detail::count_occurrences;

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::vector<std::smatch> all_matches(const std::string& text, const std::regex& re) {
  std::vector<std::smatch> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) out.push_back(*it);
  return out;
}
// The matches point into `text`: a temporary would be gone before they are read.
std::vector<std::smatch> all_matches(std::string&& text, const std::regex& re) = delete;

// The answer each task's text implies, computed from the text alone.
std::set<std::string> derive_answer(const EvalSample& s) {
  const std::string& t = s.user_text;
  if (s.task.rfind("niah_", 0) == 0) {
    std::map<std::string, std::vector<std::string>> values;
    for (const auto& m : all_matches(t, std::regex(R"(One of the special magic numbers for ([a-z]+-[a-z]+) is: (\d+)\.)"))) {
      values[m[1]].push_back(m[2]);
    }
    std::set<std::string> out;
    for (const auto& m : all_matches(s.question, std::regex(R"(([a-z]+-[a-z]+))"))) {
      for (const auto& v : values[m[1]]) out.insert(v);
    }
    return out;
  }
  if (s.task == "passkey") {
    auto m = all_matches(t, std::regex(R"(The pass key is (\d+)\. Remember it\. (\d+) is the pass key\.)"));
    EXPECT_EQ(m.size(), 1u);
    if (m.size() != 1 || m[0][1] != m[0][2]) return {};
    return {m[0][1]};
  }
  if (s.task == "vt") {
    std::map<std::string, std::string> value;  // resolved in text order (chains are written in order)
    for (const auto& m : all_matches(t, std::regex(R"(VAR ([A-Z]{5}) = (\d+|VAR [A-Z]{5})\.)"))) {
      const std::string rhs = m[2];
      value[m[1]] = rhs.rfind("VAR ", 0) == 0 ? value[rhs.substr(4)] : rhs;
    }
    std::smatch q;
    std::regex_search(s.question, q, std::regex(R"(value (\d+))"));
    std::set<std::string> out;
    for (const auto& [k, v] : value) {
      if (v == q[1]) out.insert(k);
    }
    return out;
  }
  if (s.task == "cwe" || s.task == "fwe") {
    std::map<std::string, int> counts;
    if (s.task == "cwe") {
      for (const auto& m : all_matches(t, std::regex(R"(\d+\. ([a-z]{6})\b)"))) ++counts[m[1]];
    } else {
      const size_t b = t.find("coded words. ") + 13, e = t.find("\nQuestion:");
      const std::string coded = t.substr(b, e - b);
      for (const auto& m : all_matches(coded, std::regex(R"([a-z]{6})"))) ++counts[m[0]];
    }
    std::vector<std::pair<int, std::string>> v;
    for (const auto& [w, c] : counts) v.push_back({c, w});
    std::sort(v.rbegin(), v.rend());
    const size_t n = s.answers.size();
    EXPECT_GT(v.size(), n);
    if (v.size() <= n) return {};
    EXPECT_GT(v[n - 1].first, v[n].first) << "top words tie with the next one";
    std::set<std::string> out;
    for (size_t i = 0; i < n; ++i) out.insert(v[i].second);
    return out;
  }
  if (s.task == "babi") {
    std::map<std::string, std::string> room, holder, dropped_in;
    const std::regex re(R"(([A-Z][a-z]+) (went to|journeyed to|travelled to|moved to|went back to|picked up|grabbed|took|dropped|put down|left) the ([a-z ]+?)\.)");
    for (const auto& m : all_matches(t, re)) {
      const std::string who = m[1], verb = m[2], what = m[3];
      if (verb.size() > 3 && verb.compare(verb.size() - 3, 3, " to") == 0) {
        room[who] = what;
      } else if (verb == "picked up" || verb == "grabbed" || verb == "took") {
        holder[what] = who;
      } else {
        dropped_in[what] = room[who];
        holder.erase(what);
      }
    }
    std::smatch q;
    std::regex_search(s.question, q, std::regex(R"(Where is (the )?([A-Za-z ]+)\?)"));
    const std::string subject = q[2];
    if (q[1].matched) return {holder.count(subject) ? room[holder[subject]] : dropped_in[subject]};
    return {room[subject]};
  }
  return {};
}

void check_sample(const EvalSample& s, const PromptFormat& f, int target, const std::string& label) {
  SCOPED_TRACE(label + " " + s.id);
  auto n = f.count(s);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_LE(*n, target);
  EXPECT_GE(*n, target - std::max(1, target / 100)) << "prompt of " << *n << " tokens for target " << target;
  ASSERT_FALSE(s.answers.empty());
  EXPECT_EQ(derive_answer(s), as_set(s.answers)) << s.user_text.substr(0, 400);
  for (const auto& a : s.answers) EXPECT_NE(s.user_text.find(a), std::string::npos) << a;
  if (s.task.rfind("niah_", 0) == 0) {
    for (const auto& a : s.answers) EXPECT_EQ(count_occurrences(s.user_text, a), 1) << a;
  }
}

struct TokCase {
  std::string tokenizer;
  std::vector<int> lengths;
};

void PrintTo(const TokCase& c, std::ostream* os) { *os << c.tokenizer; }

class GeneratorLengths : public ::testing::TestWithParam<TokCase> {};

TEST_P(GeneratorLengths, WithinOnePercentNeedleOnceAnswerDerivable) {
  const TokCase& c = GetParam();
  const PromptFormat f = test::format(c.tokenizer);
  for (int target : c.lengths) {
    for (const auto& task : task_names()) {
      for (int i = 0; i < 2; ++i) {
        auto s = generate_task({task, target, i, 2, 7}, {&f});
        ASSERT_TRUE(s.ok()) << task << " " << target << ": " << s.status().message();
        check_sample(*s, f, target, c.tokenizer);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, GeneratorLengths,
                         ::testing::Values(TokCase{"byte", {1024, 3000}}, TokCase{"qwen3", {1024, 4096}},
                                           TokCase{"llama3", {2048}}, TokCase{"llama2", {2048}}),
                         [](const auto& info) { return info.param.tokenizer; });

TEST(Generators, RawPromptsCountTheAnswerPrefix) {
  const PromptFormat f = test::format("qwen3", /*chat=*/false);
  ASSERT_FALSE(f.chat());
  auto s = generate_task({"niah_multivalue", 2048, 0, 1, 1}, {&f});
  ASSERT_TRUE(s.ok()) << s.status().message();
  check_sample(*s, f, 2048, "raw");
  auto text = f.render(*s);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find(s->answer_prefix), std::string::npos);
}

TEST(Generators, SameSeedSameTextOtherSeedOtherText) {
  const PromptFormat f = test::format("byte");
  for (const auto& task : task_names()) {
    auto a = generate_task({task, 1024, 1, 3, 42}, {&f});
    auto b = generate_task({task, 1024, 1, 3, 42}, {&f});
    auto c = generate_task({task, 1024, 1, 3, 43}, {&f});
    ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << task;
    EXPECT_EQ(a->user_text, b->user_text) << task;
    EXPECT_EQ(a->answers, b->answers) << task;
    EXPECT_NE(a->user_text, c->user_text) << task;
  }
}

TEST(Generators, NeedleDepthSweepsOverTheContext) {
  const PromptFormat f = test::format("qwen3");
  const int n = 5;
  double last = -1;
  for (int i = 0; i < n; ++i) {
    auto s = generate_task({"niah_single", 4096, i, n, 3}, {&f});
    ASSERT_TRUE(s.ok());
    EXPECT_DOUBLE_EQ(s->depth, sweep_depth(i, n));
    const std::string& t = s->user_text;
    const size_t begin = t.find('\n') + 1, end = t.rfind('\n');
    const double pos = static_cast<double>(t.find("One of the special magic numbers") - begin) / (end - begin);
    EXPECT_NEAR(pos, sweep_depth(i, n), 0.03) << "sample " << i;
    EXPECT_GT(pos, last);
    last = pos;
  }
}

TEST(Generators, HaystackFileIsUsedAndCycled) {
  const std::string dir = swaa::testing::make_temp_dir("eval_haystack");
  std::ofstream(dir + "/h.txt") << "Call me Ishmael. Some years ago I went to sea.\n\nIt was cold and wet!";
  auto h = Haystack::from_file(dir + "/h.txt");
  ASSERT_TRUE(h.ok()) << h.status().message();
  const PromptFormat f = test::format("byte");
  TaskContext ctx{&f, HaystackChoice::kDefault, &*h};
  for (const char* task : {"niah_single", "passkey", "vt", "babi"}) {
    auto s = generate_task({task, 1024, 0, 1, 0}, ctx);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_GE(count_occurrences(s->user_text, "Ishmael"), 3) << task;
    check_sample(*s, f, 1024, task);
  }
  std::ofstream(dir + "/empty.txt") << "  \n\n ";
  auto e = Haystack::from_file(dir + "/empty.txt");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("empty.txt"), std::string::npos);
  EXPECT_FALSE(Haystack::from_file(dir + "/missing.txt").ok());
}

TEST(Generators, ErrorsNameTheTaskAndLength) {
  const PromptFormat f = test::format("byte");
  auto s = generate_task({"niah_single", 50, 0, 1, 0}, {&f});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("niah_single at 50 tokens"), std::string::npos) << s.status().message();
  auto u = generate_task({"niah_double", 1024, 0, 1, 0}, {&f});
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("unknown task 'niah_double'"), std::string::npos);
  EXPECT_NE(u.status().message().find("babi"), std::string::npos);
}

TEST(LengthFit, FindsTheLargestFittingSize) {
  // count(n) = 100 + floor(1.7 n): the answer is the largest n with count <= target.
  int calls = 0;
  auto count = [&](size_t n) -> Result<int> {
    ++calls;
    return 100 + static_cast<int>(1.7 * static_cast<double>(n));
  };
  for (int target : {100, 101, 1000, 131072}) {
    calls = 0;
    auto r = fit_length(target, 1'000'000, count, "t");
    ASSERT_TRUE(r.ok());
    EXPECT_LE(r->tokens, target);
    EXPECT_GT(count(r->n + 1).value(), target);
    EXPECT_LE(calls, 30) << target;
  }
  EXPECT_FALSE(fit_length(99, 1000, count, "t").ok());
  auto small = fit_length(10000, 100, count, "t");
  ASSERT_FALSE(small.ok());
}

TEST(Haystack, InsertionsGoToSentenceBoundaries) {
  Haystack h = Haystack::noise();
  const std::string text = assemble(h, 40, {{0.0, "START."}, {0.5, "MIDDLE."}, {1.0, "END."}});
  EXPECT_EQ(text.rfind("START. The grass is green.", 0), 0u) << text;
  EXPECT_NE(text.find(". MIDDLE. "), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 4), "END.");
  Haystack e = Haystack::essay(5);
  const auto& w = e.words(500);
  int sentences = 0;
  for (size_t i = 0; i < 500; ++i) sentences += w[i].end != 0;
  EXPECT_GT(sentences, 20);
}

TEST(WordLists, PseudoWordsAreUniqueAndListsDisjoint) {
  std::set<std::string> seen;
  for (uint64_t i = 0; i < 20000; ++i) EXPECT_TRUE(seen.insert(words::pseudo_word(i * 17)).second);
  std::set<std::string> all;
  for (const auto* list : {&words::key_adjectives(), &words::key_nouns(), &words::people(), &words::rooms(), &words::objects()}) {
    for (const auto& w : *list) EXPECT_TRUE(all.insert(w).second) << w;
  }
  Rng rng(1);
  std::string essay;
  for (int i = 0; i < 2000; ++i) essay += words::essay_sentence(rng) + " ";
  for (const auto* list : {&words::people(), &words::rooms(), &words::objects()}) {
    for (const auto& w : *list) EXPECT_EQ(essay.find(" " + w), std::string::npos) << w;
  }
}

}  // namespace
}  // namespace swaa::eval
