// Answer extraction and the four metrics (see scoring.h).
#include "eval/scoring.h"

#include <algorithm>
#include <cctype>

namespace swaa::eval {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_choice(char c) { return c >= 'A' && c <= 'F'; }  // LongBench v2 uses A-D

// A standalone letter at the start of `s`: "B", "(B)", "B.", "B)", "B:" followed by space or end.
std::optional<char> leading_letter(std::string_view s) {
  s = trim(s);
  if (s.size() >= 3 && s[0] == '(' && is_choice(s[1]) && s[2] == ')') return s[1];
  if (!s.empty() && is_choice(s[0])) {
    if (s.size() == 1) return s[0];
    const char next = s[1];
    if (next == '.' || next == ')' || next == ':' || next == ',' || std::isspace(static_cast<unsigned char>(next))) {
      return s[0];
    }
  }
  return std::nullopt;
}

}  // namespace

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::kSubstringAll: return "substring_all";
    case Metric::kSubstringPart: return "substring_part";
    case Metric::kChoice: return "choice";
    case Metric::kExact: return "exact";
  }
  return "?";
}

bool parse_metric(const std::string& name, Metric* out) {
  for (Metric m : {Metric::kSubstringAll, Metric::kSubstringPart, Metric::kChoice, Metric::kExact}) {
    if (name == metric_name(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

std::string extract_answer(std::string_view output, bool thinking) {
  constexpr std::string_view kEnd = "</think>";
  const size_t pos = output.rfind(kEnd);
  if (pos != std::string_view::npos) return std::string(trim(output.substr(pos + kEnd.size())));
  if (thinking) return "";
  return std::string(trim(output));
}

double score_substring_all(std::string_view prediction, const std::vector<std::string>& references) {
  if (references.empty()) return 0;
  const std::string p = lower(prediction);
  int found = 0;
  for (const auto& r : references) found += p.find(lower(r)) != std::string::npos;
  return static_cast<double>(found) / static_cast<double>(references.size());
}

double score_substring_part(std::string_view prediction, const std::vector<std::string>& references) {
  const std::string p = lower(prediction);
  for (const auto& r : references) {
    if (p.find(lower(r)) != std::string::npos) return 1;
  }
  return 0;
}

std::optional<char> extract_choice_letter(std::string_view prediction) {
  std::string p(prediction);
  p.erase(std::remove(p.begin(), p.end(), '*'), p.end());  // markdown bold, as LongBench v2 strips it
  const std::string l = lower(p);
  for (std::string_view marker : {"the correct answer is", "answer:", "answer is"}) {
    const size_t pos = l.rfind(marker);
    if (pos == std::string::npos) continue;
    if (auto c = leading_letter(std::string_view(p).substr(pos + marker.size()))) return c;
  }
  return leading_letter(p);
}

double score_choice(std::string_view prediction, const std::vector<std::string>& references) {
  const std::optional<char> got = extract_choice_letter(prediction);
  if (!got) return 0;
  for (const auto& r : references) {
    std::string upper(trim(r));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const std::optional<char> want = leading_letter(upper);
    if (want && *want == *got) return 1;
  }
  return 0;
}

std::string normalize_for_exact(std::string_view text) {
  std::string s = lower(trim(text));
  if (s.rfind("answer:", 0) == 0) s = std::string(trim(std::string_view(s).substr(7)));
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  auto strip = [](char c) { return std::string_view(".,;:!?\"'`()[]").find(c) != std::string_view::npos; };
  while (!out.empty() && strip(out.back())) out.pop_back();
  size_t b = 0;
  while (b < out.size() && strip(out[b])) ++b;
  return out.substr(b);
}

double score_exact(std::string_view prediction, const std::vector<std::string>& references) {
  const std::string p = normalize_for_exact(prediction);
  for (const auto& r : references) {
    if (p == normalize_for_exact(r)) return 1;
  }
  return 0;
}

double score(Metric metric, std::string_view prediction, const std::vector<std::string>& references) {
  switch (metric) {
    case Metric::kSubstringAll: return score_substring_all(prediction, references);
    case Metric::kSubstringPart: return score_substring_part(prediction, references);
    case Metric::kChoice: return score_choice(prediction, references);
    case Metric::kExact: return score_exact(prediction, references);
  }
  return 0;
}

}  // namespace swaa::eval
