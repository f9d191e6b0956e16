// Pre-tokenizers; see pre_tokenizer.h.
#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/json_util.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/unicode_compat.h"
#include "tokenizer/utf8.h"

namespace swaa::tok {

// A compiled PCRE2 pattern (UTF + UCP, JIT when available).
class Regex {
 public:
  static Result<std::shared_ptr<const Regex>> compile(const std::string& pattern, bool literal) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK | (literal ? PCRE2_LITERAL : 0);
    // Oniguruma's character classes (Hugging Face's engine), not this PCRE2's Unicode version.
    const std::string compiled = literal ? pattern : onig_compatible_pattern(pattern);
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(), opts,
                                     &err, &err_off, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      return invalid_argument("pre_tokenizer regex " + nlohmann::json(pattern).dump() + ": " +
                              reinterpret_cast<char*>(msg) + " at offset " + std::to_string(err_off));
    }
    auto r = std::shared_ptr<Regex>(new Regex());
    r->code_ = code;
    r->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    return std::shared_ptr<const Regex>(std::move(r));
  }
  ~Regex() { pcre2_code_free(code_); }

  // Calls on_match(start, end) for each non-overlapping match, left to right.
  template <typename F>
  Status for_each_match(std::string_view s, F&& on_match) const {
    struct Scratch {
      pcre2_match_data* md = nullptr;
      pcre2_match_context* mc = nullptr;
      pcre2_jit_stack* js = nullptr;
      Scratch() {
        md = pcre2_match_data_create(4, nullptr);
        mc = pcre2_match_context_create(nullptr);
        js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
        pcre2_jit_stack_assign(mc, nullptr, js);
      }
      ~Scratch() {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        pcre2_jit_stack_free(js);
      }
    };
    thread_local Scratch scratch;
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    size_t off = 0;
    while (off <= s.size()) {
      const int rc = jit_? pcre2_jit_match(code_, subject, s.size(), off, 0, scratch.md, scratch.mc)
                         : pcre2_match(code_, subject, s.size(), off, PCRE2_NO_UTF_CHECK, scratch.md, scratch.mc);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(rc, msg, sizeof(msg));
        return internal_error(std::string("pre_tokenizer regex match failed: ") + reinterpret_cast<char*>(msg));
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.md);
      const size_t b = ov[0], e = ov[1];
      if (e == b) {  // empty match: step over one character
        if (b >= s.size()) break;
        const size_t len = utf8_valid_len(s, b);
        off = b + (len == 0 ? 1 : len);
        continue;
      }
      on_match(b, e);
      off = e;
    }
    return {};
  }

 private:
  Regex() = default;
  pcre2_code* code_ = nullptr;
  bool jit_ = false;
};

namespace {

// GPT-2's pattern, used by ByteLevel with use_regex = true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kMetaspaceDefault = "\xE2\x96\x81";  // U+2581

}  // namespace

Status PreTokenizer::add(const nlohmann::json& spec, std::vector<Step>& steps) {
  if (spec.is_null()) return {};
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument("pre_tokenizer: expected an object with a \"type\", got " + json_snippet(spec));
  }
  const std::string type = spec["type"];
  if (type == "Sequence") {
    for (const auto& s : spec.value("pretokenizers", nlohmann::json::array())) SWAA_RETURN_IF_ERROR(add(s, steps));
    return {};
  }
  Step step{};
  if (type == "Split") {
    step.kind = Kind::kSplit;
    const auto& pat = spec.value("pattern", nlohmann::json());
    const bool is_regex = pat.is_object() && pat.contains("Regex");
    if (!is_regex && !(pat.is_object() && pat.contains("String"))) {
      return invalid_argument("pre_tokenizer Split: \"pattern\" must be {\"Regex\": ...} or {\"String\": ...}, got " +
                              json_snippet(pat));
    }
    SWAA_ASSIGN_OR_RETURN(step.regex,
                          Regex::compile(pat[is_regex ? "Regex" : "String"].get<std::string>(), !is_regex));
    const std::string b = spec.value("behavior", std::string("Isolated"));
    if (b == "Removed") step.behavior = Behavior::kRemoved;
    else if (b == "Isolated") step.behavior = Behavior::kIsolated;
    else if (b == "MergedWithPrevious") step.behavior = Behavior::kMergedWithPrevious;
    else if (b == "MergedWithNext") step.behavior = Behavior::kMergedWithNext;
    else if (b == "Contiguous") step.behavior = Behavior::kContiguous;
    else return invalid_argument("pre_tokenizer Split: unknown behavior \"" + b + "\"");
    step.invert = spec.value("invert", false);
  } else if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
    step.add_prefix_space = spec.value("add_prefix_space", true);
    if (spec.value("use_regex", true)) {
      SWAA_ASSIGN_OR_RETURN(step.regex, Regex::compile(kGpt2Pattern, false));
    }
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.replacement = spec.value("replacement", std::string(kMetaspaceDefault));
    step.split = spec.value("split", true);
    std::string scheme = spec.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = spec.value("add_prefix_space", true) ? "always" : "never";
    if (scheme == "always") step.prepend_scheme = 0;
    else if (scheme == "first") step.prepend_scheme = 1;
    else if (scheme == "never") step.prepend_scheme = 2;
    else return invalid_argument("pre_tokenizer Metaspace: unknown prepend_scheme \"" + scheme + "\"");
  } else {
    return unimplemented("pre_tokenizer type \"" + type +
                         "\" is not supported (supported: Sequence, Split, ByteLevel, Metaspace)");
  }
  steps.push_back(std::move(step));
  return {};
}

Result<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& spec) {
  PreTokenizer p;
  SWAA_RETURN_IF_ERROR(add(spec, p.steps_));
  for (const auto& s : p.steps_) p.byte_level_ |= s.kind == Kind::kByteLevel;
  return p;
}

namespace {

// Splits `p` at the given matches ([b, e) byte ranges) following a Split behavior.
void split_by_matches(const Piece& p, const std::vector<std::pair<size_t, size_t>>& m, int behavior, bool invert,
                      std::vector<Piece>& out) {
  // (range, is_match) covering the whole piece
  std::vector<std::tuple<size_t, size_t, bool>> parts;
  size_t prev = 0;
  for (auto [b, e] : m) {
    if (b > prev) parts.emplace_back(prev, b, invert);
    parts.emplace_back(b, e, !invert);
    prev = e;
  }
  if (prev < p.text.size()) parts.emplace_back(prev, p.text.size(), invert);
  auto emit = [&](size_t b, size_t e) {
    if (e > b) out.push_back({p.text.substr(b, e - b), p.at_origin && b == 0});
  };
  // behavior: 0 Removed, 1 Isolated, 2 MergedWithPrevious, 3 MergedWithNext, 4 Contiguous
  if (behavior == 1) {
    for (auto [b, e, is] : parts) emit(b, e);
  } else if (behavior == 0) {
    for (auto [b, e, is] : parts) {
      if (!is) emit(b, e);
    }
  } else if (behavior == 2) {
    size_t start = 0;
    for (auto [b, e, is] : parts) {
      if (is) {
        emit(start, e);
        start = e;
      }
    }
    emit(start, p.text.size());
  } else if (behavior == 3) {
    size_t start = 0;
    for (auto [b, e, is] : parts) {
      if (is && b > start) {
        emit(start, b);
        start = b;
      }
    }
    emit(start, p.text.size());
  } else {
    size_t start = 0;
    bool cur = false;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto [b, e, is] = parts[i];
      if (i > 0 && is != cur) {
        emit(start, b);
        start = b;
      }
      cur = is;
    }
    emit(start, p.text.size());
  }
}

}  // namespace

Status PreTokenizer::apply_step(const Step& step, std::vector<Piece>& pieces) {
  std::vector<Piece> out;
  out.reserve(pieces.size() * 2);
  for (Piece& p : pieces) {
    if (step.kind == Kind::kSplit) {
      std::vector<std::pair<size_t, size_t>> m;
      SWAA_RETURN_IF_ERROR(step.regex->for_each_match(p.text, [&](size_t b, size_t e) { m.emplace_back(b, e); }));
      split_by_matches(p, m, static_cast<int>(step.behavior), step.invert, out);
    } else if (step.kind == Kind::kByteLevel) {
      if (step.add_prefix_space && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
      if (step.regex) {
        std::vector<std::pair<size_t, size_t>> m;
        SWAA_RETURN_IF_ERROR(step.regex->for_each_match(p.text, [&](size_t b, size_t e) { m.emplace_back(b, e); }));
        const size_t first = out.size();
        split_by_matches(p, m, 1, false, out);
        for (size_t i = first; i < out.size(); ++i) out[i].text = bytes_to_unicode_string(out[i].text);
      } else {
        p.text = bytes_to_unicode_string(p.text);
        out.push_back(std::move(p));
      }
    } else {  // Metaspace
      std::string t;
      t.reserve(p.text.size() + 3);
      for (char c : p.text) {
        if (c == ' ') t += step.replacement;
        else t.push_back(c);
      }
      const bool prepend = step.prepend_scheme == 0 || (step.prepend_scheme == 1 && p.at_origin);
      if (prepend && t.compare(0, step.replacement.size(), step.replacement) != 0) t.insert(0, step.replacement);
      Piece q{std::move(t), p.at_origin};
      if (!step.split) {
        out.push_back(std::move(q));
        continue;
      }
      std::vector<std::pair<size_t, size_t>> m;
      for (size_t pos = 0; (pos = q.text.find(step.replacement, pos)) != std::string::npos;
           pos += step.replacement.size()) {
        m.emplace_back(pos, pos + step.replacement.size());
      }
      split_by_matches(q, m, 3, false, out);
    }
  }
  pieces = std::move(out);
  return {};
}

// Recursive, allocation-light walk of the step chain: each step hands its pieces to the next.
Status PreTokenizer::run_from(size_t step_idx, std::string_view text, bool at_origin,
                              const std::function<void(std::string_view)>& on_word) const {
  if (text.empty()) return {};
  if (step_idx == steps_.size()) {
    on_word(text);
    return {};
  }
  const Step& step = steps_[step_idx];
  if (step.kind == Kind::kByteLevel && !step.add_prefix_space && !step.regex) {
    std::string mapped;
    append_byte_level(text, mapped);
    return run_from(step_idx + 1, mapped, at_origin, on_word);
  }
  if (step.kind == Kind::kSplit && step.behavior == Behavior::kIsolated && !step.invert) {
    size_t prev = 0;
    Status st;
    Status ms = step.regex->for_each_match(text, [&](size_t b, size_t e) {
      if (!st.ok()) return;
      if (b > prev) st = run_from(step_idx + 1, text.substr(prev, b - prev), at_origin && prev == 0, on_word);
      if (st.ok()) st = run_from(step_idx + 1, text.substr(b, e - b), at_origin && b == 0, on_word);
      prev = e;
    });
    SWAA_RETURN_IF_ERROR(ms);
    SWAA_RETURN_IF_ERROR(st);
    if (prev < text.size()) {
      SWAA_RETURN_IF_ERROR(run_from(step_idx + 1, text.substr(prev), at_origin && prev == 0, on_word));
    }
    return {};
  }
  std::vector<Piece> pieces;
  pieces.push_back({std::string(text), at_origin});
  SWAA_RETURN_IF_ERROR(apply_step(step, pieces));
  for (const Piece& p : pieces) SWAA_RETURN_IF_ERROR(run_from(step_idx + 1, p.text, p.at_origin, on_word));
  return {};
}

Status PreTokenizer::for_each_word(std::string_view text, bool at_origin,
                                   const std::function<void(std::string_view)>& on_word) const {
  return run_from(0, text, at_origin, on_word);
}

Status PreTokenizer::apply(Piece piece, std::vector<Piece>& out) const {
  if (steps_.empty()) {
    out.push_back(std::move(piece));
    return {};
  }
  std::vector<Piece> pieces;
  pieces.push_back(std::move(piece));
  for (const Step& s : steps_) SWAA_RETURN_IF_ERROR(apply_step(s, pieces));
  for (Piece& p : pieces) out.push_back(std::move(p));
  return {};
}

}  // namespace swaa::tok
