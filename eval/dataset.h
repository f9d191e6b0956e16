// Datasets from JSONL, one question per line, with the fields of the paper's evaluation files:
//   "prompt" (string, required): the user message (the question with its context, unless "context" is given)
//   "answer" (string, number, or array of them; required): the reference answer(s)
//   "context" (string, optional): prepended to the prompt, separated by a blank line
//   "question" (string, optional): the question alone, shown in reports
//   "question_type" (string, optional): the group for per-type accuracy (default "dataset")
//   "metric" (string, optional): substring_all | substring_part | choice | exact (default: the caller's)
//   "id" (string or number, optional)
// Other fields are ignored (exports carry many). Errors name the file, the line and the field.
// Tests: tests/unit/eval/dataset_test.cc.
#pragma once

#include <string>
#include <vector>

#include "eval/eval_sample.h"
#include "swaa/status.h"

namespace swaa::eval {

struct DatasetOptions {
  Metric default_metric = Metric::kSubstringAll;
  int max_tokens = 0;  // per-sample budget (0 = the run's default)
  size_t limit = 0;    // read at most this many questions (0 = all)
};

Result<std::vector<EvalSample>> load_jsonl_dataset(const std::string& path, const DatasetOptions& options = {});
// The same from text already in memory; `source` names it in errors.
Result<std::vector<EvalSample>> parse_jsonl_dataset(const std::string& text, const std::string& source,
                                                    const DatasetOptions& options = {});

}  // namespace swaa::eval
