// Added-token matching; see added_vocabulary.h.
#include "tokenizer/added_vocabulary.h"

#include <unicode/uchar.h>

#include "core/json_util.h"
#include "tokenizer/utf8.h"

namespace swaa::tok {
namespace {

// Regex `\w`: alphabetic, marks, decimal digits, connector punctuation, join controls.
bool is_word_char(char32_t c) {
  if (u_isUAlphabetic(static_cast<UChar32>(c))) return true;
  const int8_t t = u_charType(static_cast<UChar32>(c));
  return t == U_NON_SPACING_MARK || t == U_ENCLOSING_MARK || t == U_COMBINING_SPACING_MARK ||
         t == U_DECIMAL_DIGIT_NUMBER || t == U_CONNECTOR_PUNCTUATION || c == 0x200C || c == 0x200D;
}

bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

// Last code point before `pos` (text is valid UTF-8, pos > 0 and on a boundary).
char32_t cp_before(std::string_view text, size_t pos, size_t& start) {
  start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return utf8_decode_at(text, start, pos - start);
}

}  // namespace

Result<AddedVocabulary> AddedVocabulary::from_json(const nlohmann::json& added_tokens,
                                                   const std::function<std::string(const std::string&)>& normalize) {
  AddedVocabulary v;
  v.tries_[0].emplace_back();
  v.tries_[1].emplace_back();
  if (added_tokens.is_null()) return v;
  if (!added_tokens.is_array()) return invalid_argument("added_tokens: expected an array");
  for (size_t i = 0; i < added_tokens.size(); ++i) {
    const auto& t = added_tokens[i];
    if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["content"].is_string() ||
        !t["id"].is_number_integer()) {
      return invalid_argument("added_tokens[" + std::to_string(i) + "]: expected {id, content, ...}, got " +
                              json_snippet(t));
    }
    AddedToken a;
    a.id = t["id"].get<int32_t>();
    a.content = t["content"].get<std::string>();
    a.single_word = t.value("single_word", false);
    a.lstrip = t.value("lstrip", false);
    a.rstrip = t.value("rstrip", false);
    a.special = t.value("special", false);
    a.normalized = t.value("normalized", !a.special);
    if (a.content.empty()) return invalid_argument("added_tokens[" + std::to_string(i) + "]: empty content");
    a.match = a.normalized ? normalize(a.content) : a.content;
    if (a.match.empty()) a.match = a.content;
    if (v.by_content_.count(a.content)) continue;  // first definition wins
    const size_t idx = v.tokens_.size();
    v.by_id_[a.id] = idx;
    v.by_content_[a.content] = idx;
    auto& trie = v.tries_[a.normalized ? 1 : 0];
    int32_t node = 0;
    for (unsigned char c : a.match) {
      auto it = trie[node].next.find(c);
      if (it == trie[node].next.end()) {
        trie.emplace_back();
        const int32_t child = static_cast<int32_t>(trie.size() - 1);
        trie[node].next[c] = child;
        node = child;
      } else {
        node = it->second;
      }
    }
    trie[node].token = static_cast<int32_t>(idx);
    v.first_byte_[a.normalized ? 1 : 0][static_cast<unsigned char>(a.match[0])] = true;
    v.tokens_.push_back(std::move(a));
  }
  if (v.tries_[1].size() == 1) v.tries_[1].clear();
  if (v.tries_[0].size() == 1) v.tries_[0].clear();
  return v;
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

int32_t AddedVocabulary::longest_at(std::string_view text, size_t pos, bool normalized, size_t& len) const {
  const auto& trie = tries_[normalized ? 1 : 0];
  int32_t node = 0, best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = trie[node].next.find(static_cast<unsigned char>(text[i]));
    if (it == trie[node].next.end()) break;
    node = it->second;
    if (trie[node].token >= 0) {
      best = trie[node].token;
      len = i + 1 - pos;
    }
  }
  return best;
}

std::vector<Segment> AddedVocabulary::split(std::string_view text, bool normalized) const {
  std::vector<Segment> out;
  const int which = normalized ? 1 : 0;
  if (tries_[which].empty()) {
    out.push_back({-1, 0, text.size()});
    return out;
  }
  size_t start_offset = 0;  // end of the previous match (after rstrip)
  size_t pos = 0;           // where the leftmost-longest scan continues
  while (pos < text.size()) {
    if (!first_byte_[which][static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t len = 0;
    const int32_t idx = longest_at(text, pos, normalized, len);
    if (idx < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[idx];
    size_t start = pos, stop = pos + len;
    pos = stop;
    if (tok.single_word) {
      size_t s = 0;
      const bool start_ok = start == 0 || !is_word_char(cp_before(text, start, s));
      bool stop_ok = stop == text.size();
      if (!stop_ok) {
        size_t l = utf8_valid_len(text, stop);
        stop_ok = l == 0 || !is_word_char(utf8_decode_at(text, stop, l));
      }
      if (!start_ok || !stop_ok) continue;
    }
    if (tok.lstrip) {
      size_t new_start = start;
      while (new_start > 0) {
        size_t s = 0;
        if (!is_space(cp_before(text, new_start, s))) break;
        new_start = s;
      }
      start = std::max(new_start, start_offset);
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        const size_t l = utf8_valid_len(text, stop);
        if (l == 0 || !is_space(utf8_decode_at(text, stop, l))) break;
        stop += l;
      }
    }
    if (start_offset < start) out.push_back({-1, start_offset, start});
    out.push_back({tok.id, start, stop});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({-1, start_offset, text.size()});
  if (out.empty()) out.push_back({-1, 0, 0});
  return out;
}

}  // namespace swaa::tok
