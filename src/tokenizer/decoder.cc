// Decoders; see decoder.h.
#include "tokenizer/decoder.h"

#include "core/json_util.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace swaa::tok {
namespace {

std::string replace_all(const std::string& s, const std::string& pat, const std::string& with) {
  if (pat.empty() || s.find(pat) == std::string::npos) return s;
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(pat, pos)) != std::string::npos; pos = hit + pat.size()) {
    out.append(s, pos, hit - pos);
    out += with;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

// "<0xAB>" -> 0xAB, or -1.
int byte_token(const std::string& t) {
  if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int h = hex(t[3]), l = hex(t[4]);
  return h < 0 || l < 0 ? -1 : h * 16 + l;
}

}  // namespace

Status Decoder::add(const nlohmann::json& spec, std::vector<Step>& steps) {
  if (spec.is_null()) return {};
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return invalid_argument("decoder: expected an object with a \"type\", got " + json_snippet(spec));
  }
  const std::string type = spec["type"];
  Step s{};
  if (type == "Sequence") {
    for (const auto& d : spec.value("decoders", nlohmann::json::array())) SWAA_RETURN_IF_ERROR(add(d, steps));
    return {};
  } else if (type == "ByteLevel") {
    s.kind = Kind::kByteLevel;
  } else if (type == "Metaspace") {
    s.kind = Kind::kMetaspace;
    s.a = spec.value("replacement", std::string("\xE2\x96\x81"));
    std::string scheme = spec.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = spec.value("add_prefix_space", true) ? "always" : "never";
    s.prepend = scheme != "never";
  } else if (type == "Replace") {
    s.kind = Kind::kReplace;
    const auto& pat = spec.value("pattern", nlohmann::json());
    if (!pat.is_object() || !pat.contains("String")) {
      return unimplemented("decoder Replace: only {\"String\": ...} patterns are supported, got " + json_snippet(pat));
    }
    s.a = pat["String"].get<std::string>();
    s.b = spec.value("content", std::string());
  } else if (type == "ByteFallback") {
    s.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    s.kind = Kind::kFuse;
  } else if (type == "Strip") {
    s.kind = Kind::kStrip;
    s.a = spec.value("content", std::string(" "));
    s.start = spec.value("start", 0);
    s.stop = spec.value("stop", 0);
  } else {
    return unimplemented("decoder type \"" + type + "\" is not supported (supported: Sequence, ByteLevel, "
                         "Metaspace, Replace, ByteFallback, Fuse, Strip)");
  }
  steps.push_back(std::move(s));
  return {};
}

Result<Decoder> Decoder::from_json(const nlohmann::json& spec) {
  Decoder d;
  SWAA_RETURN_IF_ERROR(add(spec, d.steps_));
  d.none_ = spec.is_null();
  return d;
}

std::string Decoder::decode(std::vector<std::string> tokens, bool lossy) const {
  if (none_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& s : steps_) {
    switch (s.kind) {
      case Kind::kByteLevel: {
        std::string bytes;
        for (const auto& t : tokens) {
          if (!unicode_string_to_bytes(t, bytes)) bytes += t;
        }
        tokens.assign(1, lossy ? utf8_lossy(bytes) : bytes);
        break;
      }
      case Kind::kMetaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          // Hugging Face drops every replacement character of the first token (not only a leading one).
          tokens[i] = replace_all(tokens[i], s.a, i == 0 && s.prepend ? "" : " ");
        }
        break;
      case Kind::kReplace:
        for (auto& t : tokens) t = replace_all(t, s.a, s.b);
        break;
      case Kind::kByteFallback: {
        std::vector<std::string> out;
        std::string pending;
        size_t num_pending = 0;
        auto flush = [&] {
          if (num_pending == 0) return;
          if (!lossy || utf8_first_invalid(pending) == std::string::npos) {
            out.push_back(pending);
          } else {
            for (size_t k = 0; k < num_pending; ++k) out.emplace_back("\xEF\xBF\xBD");
          }
          pending.clear();
          num_pending = 0;
        };
        for (auto& t : tokens) {
          const int b = byte_token(t);
          if (b >= 0) {
            pending.push_back(static_cast<char>(b));
            ++num_pending;
          } else {
            flush();
            out.push_back(std::move(t));
          }
        }
        flush();
        tokens = std::move(out);
        break;
      }
      case Kind::kFuse: {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, std::move(all));
        break;
      }
      case Kind::kStrip:
        for (auto& t : tokens) {
          int n = 0;
          size_t b = 0, e = t.size();
          while (n < s.start && b < e && t.compare(b, s.a.size(), s.a) == 0) b += s.a.size(), ++n;
          n = 0;
          while (n < s.stop && e >= b + s.a.size() && t.compare(e - s.a.size(), s.a.size(), s.a) == 0) {
            e -= s.a.size();
            ++n;
          }
          t = t.substr(b, e - b);
        }
        break;
    }
  }
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace swaa::tok
