// JSONL dataset loading with errors that name file, line and field (see dataset.h).
#include "eval/dataset.h"

#include <nlohmann/json.hpp>

#include "core/json_util.h"

namespace swaa::eval {
namespace {

using nlohmann::json;

Status field_error(const std::string& where, const std::string& field, const std::string& what, const json& value) {
  return invalid_argument(where + ": field \"" + field + "\" " + what + ", got " + json_snippet(value));
}

Result<std::string> string_field(const json& obj, const std::string& where, const std::string& field, bool required) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) return invalid_argument(where + ": missing required field \"" + field + "\"");
    return std::string();
  }
  if (!it->is_string()) return field_error(where, field, "must be a string", *it);
  return it->get<std::string>();
}

Result<std::string> scalar_text(const json& v, const std::string& where, const std::string& field) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return v.dump();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  return field_error(where, field, "must be a string, a number or an array of them", v);
}

}  // namespace

Result<std::vector<EvalSample>> parse_jsonl_dataset(const std::string& text, const std::string& source,
                                                    const DatasetOptions& options) {
  std::vector<EvalSample> out;
  size_t line_no = 0, pos = 0;
  while (pos < text.size() && (options.limit == 0 || out.size() < options.limit)) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = source + ":" + std::to_string(line_no);
    json obj;
    try {
      obj = json::parse(line);
    } catch (const json::parse_error& e) {
      return invalid_argument(where + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!obj.is_object()) return invalid_argument(where + ": expected a JSON object, got " + json_snippet(obj));
    EvalSample s;
    SWAA_ASSIGN_OR_RETURN(std::string prompt, string_field(obj, where, "prompt", true));
    if (prompt.empty()) return invalid_argument(where + ": field \"prompt\" is empty");
    SWAA_ASSIGN_OR_RETURN(std::string context, string_field(obj, where, "context", false));
    SWAA_ASSIGN_OR_RETURN(s.question, string_field(obj, where, "question", false));
    SWAA_ASSIGN_OR_RETURN(std::string type, string_field(obj, where, "question_type", false));
    SWAA_ASSIGN_OR_RETURN(std::string metric, string_field(obj, where, "metric", false));
    s.user_text = context.empty() ? prompt : context + "\n\n" + prompt;
    if (s.question.empty()) s.question = prompt;
    s.task = type.empty() ? "dataset" : type;
    s.metric = options.default_metric;
    if (!metric.empty() && !parse_metric(metric, &s.metric)) {
      return field_error(where, "metric", "must be substring_all, substring_part, choice or exact", obj["metric"]);
    }
    auto ans = obj.find("answer");
    if (ans == obj.end() || ans->is_null()) return invalid_argument(where + ": missing required field \"answer\"");
    if (ans->is_array()) {
      if (ans->empty()) return field_error(where, "answer", "must not be an empty array", *ans);
      for (const json& a : *ans) {
        SWAA_ASSIGN_OR_RETURN(std::string t, scalar_text(a, where, "answer"));
        s.answers.push_back(std::move(t));
      }
    } else {
      SWAA_ASSIGN_OR_RETURN(std::string t, scalar_text(*ans, where, "answer"));
      s.answers.push_back(std::move(t));
    }
    for (const auto& a : s.answers) {
      if (a.empty()) return field_error(where, "answer", "must not be empty", *ans);
    }
    auto id = obj.find("id");
    if (id != obj.end() && (id->is_string() || id->is_number_integer())) {
      s.id = id->is_string() ? id->get<std::string>() : std::to_string(id->get<int64_t>());
    } else {
      s.id = where;
    }
    s.max_tokens = options.max_tokens;
    out.push_back(std::move(s));
  }
  if (out.empty()) return invalid_argument(source + ": no questions (the file has no non-empty lines)");
  return out;
}

Result<std::vector<EvalSample>> load_jsonl_dataset(const std::string& path, const DatasetOptions& options) {
  SWAA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_jsonl_dataset(text, path, options);
}

}  // namespace swaa::eval
