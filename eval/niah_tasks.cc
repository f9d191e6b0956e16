// Needle-in-a-haystack tasks (single, multi-key, multi-value, multi-query) and passkey retrieval,
// with RULER's needle and question wording. Tests: tests/unit/eval/generators_test.cc.
#include <set>

#include "eval/task_util.h"
#include "eval/word_lists.h"

namespace swaa::eval::detail {
namespace {

// RULER: 4 needles for the multi-needle variants; 128 tokens to generate for NIAH.
constexpr int kNumMultiNeedles = 4;
constexpr int kNiahMaxTokens = 128;
constexpr int kPasskeyMaxTokens = 32;
constexpr int kAttempts = 10;  // re-draws when a user haystack happens to contain a value

std::string needle_sentence(const std::string& key, const std::string& value) {
  return "One of the special magic numbers for " + key + " is: " + value + ".";
}

struct Needle {
  std::string key, value;
  double depth;
};

// Each value occurs exactly `expected` times in the text.
bool values_unique(const std::string& text, const std::vector<std::string>& values, int expected = 1) {
  for (const auto& v : values) {
    if (count_occurrences(text, v) != expected) return false;
  }
  return true;
}

}  // namespace

Result<EvalSample> generate_niah(const TaskRequest& req, const TaskContext& ctx) {
  const std::string& task = req.task;
  const double depth = sweep_depth(req.sample_idx, req.num_samples);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t seed = derive_seed(req.seed, task, static_cast<uint64_t>(req.target_tokens),
                                      static_cast<uint64_t>(req.sample_idx) * kAttempts + attempt);
    Rng rng(seed);
    // Distinct adjective-noun keys and distinct 7-digit values.
    std::set<std::string> used_keys, used_values;
    auto new_key = [&] {
      std::string k;
      do k = rng.pick(words::key_adjectives()) + "-" + rng.pick(words::key_nouns()); while (!used_keys.insert(k).second);
      return k;
    };
    auto new_value = [&] {
      std::string v;
      do v = std::to_string(rng.uniform_int(1000000, 9999999)); while (!used_values.insert(v).second);
      return v;
    };
    std::vector<Needle> needles;
    std::vector<std::string> query_keys, answers;
    if (task == "niah_single") {
      needles.push_back({new_key(), new_value(), depth});
      query_keys = {needles[0].key};
      answers = {needles[0].value};
    } else if (task == "niah_multikey") {
      // The queried needle plus distractor needles with other keys.
      for (int i = 0; i < kNumMultiNeedles; ++i) needles.push_back({new_key(), new_value(), i == 0 ? depth : rng.uniform01()});
      query_keys = {needles[0].key};
      answers = {needles[0].value};
    } else if (task == "niah_multivalue") {
      const std::string key = new_key();
      for (int i = 0; i < kNumMultiNeedles; ++i) {
        needles.push_back({key, new_value(), i == 0 ? depth : rng.uniform01()});
        answers.push_back(needles.back().value);
      }
      query_keys = {key};
    } else {  // niah_multiquery
      for (int i = 0; i < kNumMultiNeedles; ++i) {
        needles.push_back({new_key(), new_value(), i == 0 ? depth : rng.uniform01()});
        query_keys.push_back(needles.back().key);
        answers.push_back(needles.back().value);
      }
    }
    const bool plural = answers.size() > 1;
    const std::string noun = plural ? "numbers" : "number";
    const std::string keys = join_english(query_keys);
    const std::string question = plural ? "What are all the special magic numbers for " + keys + " mentioned in the provided text?"
                                        : "What is the special magic number for " + keys + " mentioned in the provided text?";
    std::vector<Insertion> ins;
    for (const Needle& n : needles) ins.push_back({n.depth, needle_sentence(n.key, n.value)});
    Haystack hay = make_haystack(ctx, Haystack::Kind::kEssay, seed);
    auto build = [&](size_t n) {
      EvalSample s;
      s.user_text = "Some special magic numbers are hidden within the following text. Make sure to memorize it. "
                    "I will quiz you about the numbers afterwards.\n" +
                    assemble(hay, n, ins) + "\n" + question;
      s.answer_prefix = "The special magic " + noun + " for " + keys + " mentioned in the provided text " +
                        (plural ? "are" : "is");
      s.question = question;
      s.answers = answers;
      s.metric = Metric::kSubstringAll;
      s.max_tokens = kNiahMaxTokens;
      s.depth = depth;
      return s;
    };
    SWAA_ASSIGN_OR_RETURN(EvalSample s, fit_sample(req, ctx, 2 * static_cast<size_t>(req.target_tokens) + 64, build));
    std::vector<std::string> values;
    for (const Needle& n : needles) values.push_back(n.value);
    if (values_unique(s.user_text, values)) return s;
  }
  return invalid_argument(task + ": the haystack keeps containing the needle values after " +
                          std::to_string(kAttempts) + " draws");
}

Result<EvalSample> generate_passkey(const TaskRequest& req, const TaskContext& ctx) {
  const double depth = sweep_depth(req.sample_idx, req.num_samples);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t seed = derive_seed(req.seed, req.task, static_cast<uint64_t>(req.target_tokens),
                                      static_cast<uint64_t>(req.sample_idx) * kAttempts + attempt);
    Rng rng(seed);
    const std::string key = std::to_string(rng.uniform_int(10000, 99999));
    const std::vector<Insertion> ins = {{depth, "The pass key is " + key + ". Remember it. " + key + " is the pass key."}};
    Haystack hay = make_haystack(ctx, Haystack::Kind::kNoise, seed);
    auto build = [&](size_t n) {
      EvalSample s;
      s.user_text = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
                    "I will quiz you about the important information there.\n" +
                    assemble(hay, n, ins) + "\nWhat is the pass key?";
      s.answer_prefix = "The pass key is";
      s.question = "What is the pass key?";
      s.answers = {key};
      s.metric = Metric::kSubstringAll;
      s.max_tokens = kPasskeyMaxTokens;
      s.depth = depth;
      return s;
    };
    SWAA_ASSIGN_OR_RETURN(EvalSample s, fit_sample(req, ctx, 2 * static_cast<size_t>(req.target_tokens) + 64, build));
    if (count_occurrences(s.user_text, ins[0].text) == 1 && values_unique(s.user_text, {key}, 2)) return s;
  }
  return invalid_argument("passkey: the haystack keeps containing the pass key after " + std::to_string(kAttempts) +
                          " draws");
}

}  // namespace swaa::eval::detail
