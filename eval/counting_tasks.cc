// Variable tracking (multi-hop assignment chains in noise) and the common / frequent word
// extraction tasks, with RULER's wording. Tests: tests/unit/eval/generators_test.cc.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "eval/task_util.h"
#include "eval/word_lists.h"

namespace swaa::eval::detail {
namespace {

// RULER vt: one chain of 4 hops (5 variables); we add one distractor chain with another value.
constexpr int kVtHops = 4;
constexpr int kVtMaxTokens = 64;
constexpr int kCweMaxTokens = 120;
constexpr int kFweMaxTokens = 50;
constexpr int kAttempts = 20;
// fwe: Zipf(alpha = 2) over 1000 coded words; rank 0 is the noise word "....", ranks 1-3 are the
// answer. At alpha 2, ranks 3 and 4 are drawn with probability 0.038 and 0.024, so a few hundred
// words separate them; shorter texts that tie are re-drawn.
constexpr double kZipfAlpha = 2.0;
constexpr int kFweVocab = 1000;

std::string var_name(Rng& rng) {
  std::string s;
  for (int i = 0; i < 5; ++i) s += static_cast<char>('A' + rng.uniform(26));
  return s;
}

}  // namespace

Result<EvalSample> generate_vt(const TaskRequest& req, const TaskContext& ctx) {
  const double depth = sweep_depth(req.sample_idx, req.num_samples);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t seed = derive_seed(req.seed, req.task, static_cast<uint64_t>(req.target_tokens),
                                      static_cast<uint64_t>(req.sample_idx) * kAttempts + attempt);
    Rng rng(seed);
    std::set<std::string> used;
    auto fresh = [&] {
      std::string v;
      do v = var_name(rng); while (v == "VAR" || !used.insert(v).second);
      return v;
    };
    const std::string value = std::to_string(rng.uniform_int(10000, 99999));
    std::string other;
    do other = std::to_string(rng.uniform_int(10000, 99999)); while (other == value);
    std::vector<Insertion> ins;
    std::vector<std::string> chain, statements;
    std::map<std::string, int> expected;  // name -> occurrences: defined once, read once by the next hop
    // The target chain starts at the swept depth and spreads over the rest of the context in order.
    for (int h = 0; h <= kVtHops; ++h) {
      chain.push_back(fresh());
      expected[chain.back()] = h < kVtHops ? 2 : 1;
      const std::string rhs = h == 0 ? value : "VAR " + chain[h - 1];
      ins.push_back({depth + (1.0 - depth) * h / (kVtHops + 1), "VAR " + chain[h] + " = " + rhs + "."});
      statements.push_back(ins.back().text);
    }
    // A distractor chain at random depths, in order.
    std::vector<double> d(kVtHops + 1);
    for (double& x : d) x = rng.uniform01();
    std::sort(d.begin(), d.end());
    std::string prev;
    for (int h = 0; h <= kVtHops; ++h) {
      const std::string v = fresh();
      expected[v] = h < kVtHops ? 2 : 1;
      ins.push_back({d[h], "VAR " + v + " = " + (h == 0 ? other : "VAR " + prev) + "."});
      statements.push_back(ins.back().text);
      prev = v;
    }
    const std::string question = "Question: Find all variables that are assigned the value " + value + " in the text above.";
    Haystack hay = make_haystack(ctx, Haystack::Kind::kNoise, seed);
    auto build = [&](size_t n) {
      EvalSample s;
      s.user_text = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n" +
                    assemble(hay, n, ins) + "\n" + question;
      s.answer_prefix = "Answer: According to the chain(s) of variable assignment in the text above, " +
                        std::to_string(chain.size()) + " variables are assigned the value " + value + ", they are:";
      s.question = question;
      s.answers = chain;
      s.metric = Metric::kSubstringAll;
      s.max_tokens = kVtMaxTokens;
      s.depth = depth;
      return s;
    };
    SWAA_ASSIGN_OR_RETURN(EvalSample s, fit_sample(req, ctx, 2 * static_cast<size_t>(req.target_tokens) + 64, build));
    bool ok = count_occurrences(s.user_text, value) == 2;  // the first statement and the question
    for (const auto& st : statements) ok = ok && count_occurrences(s.user_text, st) == 1;
    for (const auto& [v, n] : expected) ok = ok && count_occurrences(s.user_text, v) == n;
    if (ok) return s;
  }
  return invalid_argument("vt: the haystack keeps containing the chain's names or values");
}

Result<EvalSample> generate_cwe(const TaskRequest& req, const TaskContext& ctx) {
  // RULER: 10 common words x 30 and uncommon words x 3 at long lengths; short prompts cannot hold
  // 300 repeats, so the counts shrink with the target (the gap common/uncommon stays >= 3x).
  const int t = req.target_tokens;
  const int num_common = t >= 1024 ? 10 : 5;
  const int freq_common = t >= 8192 ? 30 : t >= 2048 ? 8 : 3;
  const int freq_uncommon = t >= 8192 ? 3 : t >= 2048 ? 2 : 1;
  const uint64_t seed = derive_seed(req.seed, req.task, static_cast<uint64_t>(t), static_cast<uint64_t>(req.sample_idx));
  // Distinct pseudo-words: the first num_common are the common ones.
  Rng pick(seed);
  std::set<uint64_t> used;
  std::vector<std::string> pool;
  auto word_at = [&](size_t i) -> const std::string& {
    while (pool.size() <= i) {
      uint64_t w;
      do w = pick.uniform(words::kNumPseudoWords); while (!used.insert(w).second);
      pool.push_back(words::pseudo_word(w));
    }
    return pool[i];
  };
  std::vector<std::string> common;
  for (int i = 0; i < num_common; ++i) common.push_back(word_at(i));
  const std::string n_words = std::to_string(num_common);
  const std::string question = "Question: What are the " + n_words + " most common words in the above list?";
  auto build = [&](size_t n) {
    std::vector<std::string> list;
    for (int i = 0; i < num_common; ++i) list.insert(list.end(), freq_common, common[i]);
    for (size_t i = 0; i < n; ++i) list.insert(list.end(), freq_uncommon, word_at(num_common + i));
    Rng order(seed ^ 0x5bd1e995ULL);
    order.shuffle(list);
    std::string ctx_text;
    for (size_t i = 0; i < list.size(); ++i) ctx_text.append(i ? " " : "").append(std::to_string(i + 1)).append(". ").append(list[i]);
    EvalSample s;
    s.user_text = "Below is a numbered list of words. In these words, some appear more often than others. "
                  "Memorize the ones that appear most often.\n" + ctx_text + "\n" + question;
    s.answer_prefix = "Answer: The top " + n_words + " words that appear most often in the list are:";
    s.question = question;
    s.answers = common;
    s.metric = Metric::kSubstringAll;
    s.max_tokens = kCweMaxTokens;
    return s;
  };
  return fit_sample(req, ctx, static_cast<size_t>(t) + 64, build);
}

Result<EvalSample> generate_fwe(const TaskRequest& req, const TaskContext& ctx) {
  std::vector<double> cdf(kFweVocab);
  double total = 0;
  for (int r = 0; r < kFweVocab; ++r) cdf[r] = (total += 1.0 / std::pow(r + 1.0, kZipfAlpha));
  for (double& c : cdf) c /= total;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t seed = derive_seed(req.seed, req.task, static_cast<uint64_t>(req.target_tokens),
                                      static_cast<uint64_t>(req.sample_idx) * kAttempts + attempt);
    Rng rng(seed);
    // Rank -> coded word (rank 0 is the noise word); the draws are one seeded stream, so the first
    // n words do not depend on n.
    std::vector<std::string> vocab = {"...."};
    std::set<uint64_t> used;
    while (static_cast<int>(vocab.size()) < kFweVocab) {
      const uint64_t w = rng.uniform(words::kNumPseudoWords);
      if (used.insert(w).second) vocab.push_back(words::pseudo_word(w));
    }
    std::vector<int> ranks;
    auto draws = [&](size_t n) -> const std::vector<int>& {
      while (ranks.size() < n) {
        ranks.push_back(static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), rng.uniform01()) - cdf.begin()));
        ranks.back() = std::min(ranks.back(), kFweVocab - 1);
      }
      return ranks;
    };
    const std::string question = "Question: Do not provide any explanation. Please ignore the dots '....'. "
                                 "What are the three most frequently appeared words in the above coded text?";
    bool derivable = false;  // of the last build: the one fit_sample returns
    auto build = [&](size_t n) {
      const std::vector<int>& r = draws(n);
      std::string text;
      for (size_t i = 0; i < n; ++i) text += (i ? " " : "") + vocab[r[i]];
      // The answer: the three most frequent coded words of this text (ties broken by rank).
      std::map<int, int> counts;
      for (size_t i = 0; i < n; ++i) {
        if (r[i] != 0) ++counts[r[i]];
      }
      std::vector<std::pair<int, int>> by_count;  // (-count, rank)
      for (auto [rank, c] : counts) by_count.push_back({-c, rank});
      std::sort(by_count.begin(), by_count.end());
      EvalSample s;
      s.user_text = "Read the following coded text and track the frequency of each coded word. Find the three most "
                    "frequently appeared coded words. " + text + "\n" + question;
      s.answer_prefix = "Answer: According to the coded text above, the three most frequently appeared words are:";
      s.question = question;
      for (size_t i = 0; i < 3 && i < by_count.size(); ++i) s.answers.push_back(vocab[by_count[i].second]);
      if (s.answers.empty()) s.answers.push_back(vocab[1]);
      s.metric = Metric::kSubstringAll;
      s.max_tokens = kFweMaxTokens;
      // Derivable only when the top three are strictly more frequent than the fourth.
      derivable = by_count.size() >= 4 && by_count[2].first < by_count[3].first;
      return s;
    };
    SWAA_ASSIGN_OR_RETURN(EvalSample s, fit_sample(req, ctx, 2 * static_cast<size_t>(req.target_tokens) + 64, build));
    if (derivable) return s;
  }
  return invalid_argument("fwe at " + std::to_string(req.target_tokens) +
                          " tokens: the three most frequent words tie with the fourth in every draw; use a longer target");
}

}  // namespace swaa::eval::detail
