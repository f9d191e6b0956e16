// Synthetic long-context tasks in the style of RULER (NVIDIA/RULER scripts/data/synthetic):
// needle-in-a-haystack (single, multi-key, multi-value, multi-query), passkey retrieval, variable
// tracking (multi-hop chains), common- and frequent-word extraction, and a bAbI-like story of
// people and objects moving between rooms. Every sample is seeded (same seed, same text) and sized
// exactly in the model's prompt tokens: the haystack grows word by word until one more word would
// pass the target. Needles sit at sentence boundaries, the queried one at a depth swept over the
// samples; each needle occurs once; every answer follows from the text.
// Tests: tests/unit/eval/generators_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/eval_sample.h"
#include "eval/haystack.h"
#include "eval/prompt_format.h"
#include "swaa/status.h"

namespace swaa::eval {

// niah_single, niah_multikey, niah_multivalue, niah_multiquery, vt, cwe, fwe, passkey, babi.
const std::vector<std::string>& task_names();
bool is_task_name(const std::string& name);
// InvalidArgument naming the first unknown task and listing the valid ones.
Status check_task_names(const std::vector<std::string>& names);

enum class HaystackChoice { kDefault, kNoise, kEssay };

struct TaskRequest {
  std::string task;
  int target_tokens = 0;  // prompt length in the model's tokens (chat template included)
  int sample_idx = 0;     // which of num_samples: sets the needle depth
  int num_samples = 1;
  uint64_t seed = 0;
};

struct TaskContext {
  const PromptFormat* format = nullptr;             // counts tokens; required
  HaystackChoice haystack = HaystackChoice::kDefault;
  const Haystack* file_haystack = nullptr;          // --haystack-file: used by every haystack task
};

// The sample's prompt length is within the target and as close as one haystack word allows.
// Errors: InvalidArgument for an unknown task or a target too short for the task.
Result<EvalSample> generate_task(const TaskRequest& request, const TaskContext& context);

// Needle depth of sample i of n: evenly from 0 (start) to 1 (end); 0.5 when n == 1.
double sweep_depth(int sample_idx, int num_samples);

}  // namespace swaa::eval
