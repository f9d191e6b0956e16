// EvalSample: one question of an evaluation (a generated synthetic task or a dataset line): the
// user message, its reference answers and how a prediction is scored. Invariant: `answers` is
// never empty. Generators: synthetic_tasks.h; datasets: dataset.h; scoring: scoring.h.
#pragma once

#include <string>
#include <vector>

namespace swaa::eval {

enum class Metric {
  kSubstringAll,   // fraction of references found in the prediction (RULER string_match_all)
  kSubstringPart,  // 1 if any reference is found (RULER string_match_part)
  kChoice,         // the multiple-choice letter equals the reference (LongBench v2)
  kExact,          // normalized prediction equals a reference
};
const char* metric_name(Metric m);  // "substring_all", "substring_part", "choice", "exact"
bool parse_metric(const std::string& name, Metric* out);

struct EvalSample {
  std::string id;             // "niah_single/1024/3" or "FILE:LINE"
  std::string task;           // synthetic task name, or the dataset's question_type ("dataset" if none)
  std::string user_text;      // the whole user message: context, then the question
  std::string answer_prefix;  // appended after the question when the model has no chat template
  std::string question;       // the question alone (reports)
  std::vector<std::string> answers;
  Metric metric = Metric::kSubstringAll;
  int max_tokens = 0;         // generation budget; 0 = the run's default
  int target_tokens = 0;      // synthetic: the requested prompt length; 0 for datasets
  double depth = -1;          // synthetic: where the (first) needle sits, 0 = start, 1 = end; -1 = n/a
};

}  // namespace swaa::eval
