// Task registry, length fitting and shared helpers of the synthetic tasks (see synthetic_tasks.h).
#include "eval/synthetic_tasks.h"

#include <algorithm>

#include "eval/length_fit.h"
#include "eval/task_util.h"

namespace swaa::eval {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> v = {"niah_single", "niah_multikey", "niah_multivalue", "niah_multiquery",
                                             "vt",          "cwe",           "fwe",             "passkey",
                                             "babi"};
  return v;
}

bool is_task_name(const std::string& name) {
  const auto& v = task_names();
  return std::find(v.begin(), v.end(), name) != v.end();
}

Status check_task_names(const std::vector<std::string>& names) {
  for (const auto& t : names) {
    if (is_task_name(t)) continue;
    std::string valid;
    for (const auto& n : task_names()) valid += (valid.empty() ? "" : ", ") + n;
    return invalid_argument("unknown task '" + t + "' (tasks: " + valid + ")");
  }
  return {};
}

double sweep_depth(int sample_idx, int num_samples) {
  if (num_samples <= 1) return 0.5;
  return static_cast<double>(sample_idx) / (num_samples - 1);
}

Result<EvalSample> generate_task(const TaskRequest& request, const TaskContext& context) {
  if (context.format == nullptr) return invalid_argument("generate_task: no prompt format");
  if (request.target_tokens < 1) {
    return invalid_argument("target length " + std::to_string(request.target_tokens) + " must be >= 1 token");
  }
  const std::string& t = request.task;
  if (t.rfind("niah_", 0) == 0 && is_task_name(t)) return detail::generate_niah(request, context);
  if (t == "passkey") return detail::generate_passkey(request, context);
  if (t == "vt") return detail::generate_vt(request, context);
  if (t == "cwe") return detail::generate_cwe(request, context);
  if (t == "fwe") return detail::generate_fwe(request, context);
  if (t == "babi") return detail::generate_babi(request, context);
  Status st = check_task_names({t});
  return st.ok() ? internal_error("task '" + t + "' has no generator") : st;
}

namespace detail {

Result<EvalSample> fit_sample(const TaskRequest& request, const TaskContext& context, size_t max_n,
                              const std::function<EvalSample(size_t)>& build) {
  const std::string what = request.task + " at " + std::to_string(request.target_tokens) + " tokens";
  auto count = [&](size_t n) { return context.format->count(build(n)); };
  SWAA_ASSIGN_OR_RETURN(LengthFit fit, fit_length(request.target_tokens, max_n, count, what));
  EvalSample s = build(fit.n);
  s.id = request.task + "/" + std::to_string(request.target_tokens) + "/" + std::to_string(request.sample_idx);
  s.task = request.task;
  s.target_tokens = request.target_tokens;
  return s;
}

Haystack make_haystack(const TaskContext& context, Haystack::Kind default_kind, uint64_t seed) {
  if (context.file_haystack != nullptr) return context.file_haystack->with_offset(seed);
  Haystack::Kind kind = default_kind;
  if (context.haystack == HaystackChoice::kNoise) kind = Haystack::Kind::kNoise;
  if (context.haystack == HaystackChoice::kEssay) kind = Haystack::Kind::kEssay;
  return kind == Haystack::Kind::kNoise ? Haystack::noise() : Haystack::essay(seed);
}

int count_occurrences(const std::string& text, const std::string& needle) {
  if (needle.empty()) return 0;
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

std::string join_english(const std::vector<std::string>& items) {
  if (items.size() <= 1) return items.empty() ? "" : items[0];
  if (items.size() == 2) return items[0] + " and " + items[1];
  std::string s;
  for (size_t i = 0; i + 1 < items.size(); ++i) s += items[i] + ", ";
  return s + "and " + items.back();
}

}  // namespace detail
}  // namespace swaa::eval
