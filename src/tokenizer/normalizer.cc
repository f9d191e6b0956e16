// Normalizers; see normalizer.h.
#include "tokenizer/normalizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "core/json_util.h"
#include "tokenizer/utf8.h"

namespace swaa::tok {
namespace {

bool is_ascii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

void icu_normalize(std::string& text, const icu::Normalizer2* norm) {
  if (is_ascii(text)) return;  // ASCII is invariant under every normalization form
  UErrorCode err = U_ZERO_ERROR;
  if (norm->isNormalizedUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), err) &&
      U_SUCCESS(err)) {
    return;
  }
  err = U_ZERO_ERROR;
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
  icu::UnicodeString out = norm->normalize(u, err);
  if (U_FAILURE(err)) return;
  text.clear();
  out.toUTF8String(text);
}

void strip_whitespace(std::string& text, bool left, bool right) {
  size_t b = 0, e = text.size();
  while (left && b < e) {
    const size_t len = utf8_valid_len(text, b);
    if (len == 0 || !u_isUWhiteSpace(static_cast<UChar32>(utf8_decode_at(text, b, len)))) break;
    b += len;
  }
  while (right && e > b) {
    size_t s = e - 1;
    while (s > b && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80) --s;
    const size_t len = utf8_valid_len(text, s);
    if (len == 0 || !u_isUWhiteSpace(static_cast<UChar32>(utf8_decode_at(text, s, len)))) break;
    e = s;
  }
  text = text.substr(b, e - b);
}

}  // namespace

Status Normalizer::add(const nlohmann::json& spec, std::vector<Step>& steps) {
  if (spec.is_null()) return {};
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument("normalizer: expected an object with a \"type\", got " + json_snippet(spec));
  }
  const std::string type = spec["type"];
  if (type == "Sequence") {
    for (const auto& s : spec.value("normalizers", nlohmann::json::array())) SWAA_RETURN_IF_ERROR(add(s, steps));
  } else if (type == "NFC") {
    steps.push_back(Step{Kind::kNfc, {}, {}});
  } else if (type == "NFD") {
    steps.push_back(Step{Kind::kNfd, {}, {}});
  } else if (type == "NFKC") {
    steps.push_back(Step{Kind::kNfkc, {}, {}});
  } else if (type == "NFKD") {
    steps.push_back(Step{Kind::kNfkd, {}, {}});
  } else if (type == "Lowercase") {
    steps.push_back(Step{Kind::kLowercase, {}, {}});
  } else if (type == "Prepend") {
    steps.push_back(Step{Kind::kPrepend, spec.value("prepend", std::string()), {}});
  } else if (type == "Strip") {
    Step s{Kind::kStrip, {}, {}};
    s.left = spec.value("strip_left", true);
    s.right = spec.value("strip_right", true);
    steps.push_back(s);
  } else if (type == "Replace") {
    const auto& pat = spec.value("pattern", nlohmann::json());
    if (!pat.is_object() || !pat.contains("String")) {
      return unimplemented("normalizer Replace: only {\"String\": ...} patterns are supported, got " +
                           json_snippet(pat));
    }
    steps.push_back(Step{Kind::kReplace, pat["String"].get<std::string>(), spec.value("content", std::string())});
  } else {
    return unimplemented("normalizer type \"" + type + "\" is not supported (supported: Sequence, NFC, NFD, "
                         "NFKC, NFKD, Lowercase, Prepend, Replace, Strip)");
  }
  return {};
}

Result<Normalizer> Normalizer::from_json(const nlohmann::json& spec) {
  Normalizer n;
  SWAA_RETURN_IF_ERROR(add(spec, n.steps_));
  for (const auto& s : n.steps_) {
    if (s.kind == Kind::kReplace && s.a.empty()) return invalid_argument("normalizer Replace: empty pattern");
  }
  return n;
}

void Normalizer::apply(std::string& text) const {
  UErrorCode err = U_ZERO_ERROR;
  for (const Step& s : steps_) {
    switch (s.kind) {
      case Kind::kNfc: icu_normalize(text, icu::Normalizer2::getNFCInstance(err)); break;
      case Kind::kNfd: icu_normalize(text, icu::Normalizer2::getNFDInstance(err)); break;
      case Kind::kNfkc: icu_normalize(text, icu::Normalizer2::getNFKCInstance(err)); break;
      case Kind::kNfkd: icu_normalize(text, icu::Normalizer2::getNFKDInstance(err)); break;
      case Kind::kLowercase: {
        icu::UnicodeString u = icu::UnicodeString::fromUTF8(text);
        u.toLower(icu::Locale::getRoot());
        text.clear();
        u.toUTF8String(text);
        break;
      }
      case Kind::kPrepend:
        if (!text.empty()) text.insert(0, s.a);
        break;
      case Kind::kStrip: strip_whitespace(text, s.left, s.right); break;
      case Kind::kReplace: {
        std::string out;
        size_t pos = 0;
        for (size_t hit; (hit = text.find(s.a, pos)) != std::string::npos; pos = hit + s.a.size()) {
          out.append(text, pos, hit - pos);
          out += s.b;
        }
        if (pos == 0) break;
        out.append(text, pos, std::string::npos);
        text = std::move(out);
        break;
      }
    }
  }
}

}  // namespace swaa::tok
