// BPE model; see bpe_model.h.
#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "core/json_util.h"
#include "tokenizer/utf8.h"

namespace swaa::tok {

// Open-addressing hash table keyed by (left << 32 | right); ~2x the merge count in slots.
struct BpeModel::MergeTable {
  struct Slot {
    uint64_t key = ~0ull;
    int32_t rank = 0, new_id = 0;
  };
  std::vector<Slot> slots;
  uint64_t mask = 0;
  explicit MergeTable(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots.resize(cap);
    mask = cap - 1;
  }
  static uint64_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
  }
  // Keeps the first (lowest-rank) entry for a duplicated pair, as Hugging Face does.
  void insert(uint64_t key, int32_t rank, int32_t new_id) {
    for (uint64_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == key) return;
      if (slots[i].key == ~0ull) {
        slots[i] = {key, rank, new_id};
        return;
      }
    }
  }
  const Slot* find(int32_t a, int32_t b) const {
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    for (uint64_t i = hash(key) & mask;; i = (i + 1) & mask) {
      if (slots[i].key == key) return &slots[i];
      if (slots[i].key == ~0ull) return nullptr;
    }
  }
};

Result<std::unique_ptr<BpeModel>> BpeModel::from_json(const nlohmann::json& model) {
  auto m = std::unique_ptr<BpeModel>(new BpeModel());
  if (!model.is_object()) return invalid_argument("model: expected an object, got " + json_snippet(model));
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") {
    return unimplemented("model type \"" + type + "\" is not supported (only BPE)");
  }
  if (model.contains("dropout") && !model["dropout"].is_null() && model["dropout"].get<double>() != 0.0) {
    return unimplemented("model.dropout " + json_snippet(model["dropout"]) + " is not supported (only null)");
  }
  static const nlohmann::json kNull;
  const auto field = [&](const char* key) -> const nlohmann::json& {  // by reference: vocab is large
    auto it = model.find(key);
    return it == model.end() ? kNull : *it;
  };
  const nlohmann::json& vocab = field("vocab");
  if (!vocab.is_object()) return invalid_argument("model.vocab: expected an object of token -> id");
  int32_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() >= (int64_t{1} << 30)) {
      return invalid_argument("model.vocab[" + nlohmann::json(it.key()).dump() + "]: bad id " + json_snippet(it.value()));
    }
    max_id = std::max(max_id, it.value().get<int32_t>());
  }
  m->id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  std::vector<char> seen(static_cast<size_t>(max_id + 1), 0);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const int32_t id = it.value().get<int32_t>();
    if (seen[id]) return invalid_argument("model.vocab: id " + std::to_string(id) + " is used twice");
    seen[id] = 1;
    m->id_to_token_[id] = it.key();
  }
  size_t cap = 16;
  while (cap < vocab.size() * 2) cap <<= 1;  // load factor <= 0.5
  m->slots_.assign(cap, 0);
  m->slot_mask_ = cap - 1;
  for (int32_t id = 0; id <= max_id; ++id) {
    if (seen[id]) m->index_insert(id);
  }

  auto str_or_empty = [&](const char* key) {
    return model.contains(key) && model[key].is_string() ? model[key].get<std::string>() : std::string();
  };
  m->continuing_subword_prefix_ = str_or_empty("continuing_subword_prefix");
  m->end_of_word_suffix_ = str_or_empty("end_of_word_suffix");
  m->byte_fallback_ = model.value("byte_fallback", false);
  m->fuse_unk_ = model.value("fuse_unk", false);
  m->ignore_merges_ = model.value("ignore_merges", false);
  const std::string unk = str_or_empty("unk_token");
  if (!unk.empty()) {
    const int32_t id = m->lookup(unk);
    if (id < 0) return invalid_argument("model.unk_token \"" + unk + "\" is not in the vocabulary");
    m->unk_id_ = id;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    m->byte_ids_[b] = m->lookup(name);
  }
  m->bmp_char_id_.assign(0x10000, -1);
  for (int32_t id = 0; id <= max_id; ++id) {
    const std::string& tok = m->id_to_token_[id];
    const size_t len = tok.empty() ? 0 : utf8_valid_len(tok, 0);
    if (len != 0 && len == tok.size()) {
      const char32_t cp = utf8_decode_at(tok, 0, len);
      if (cp < 0x10000) m->bmp_char_id_[cp] = id;
    }
  }

  static const nlohmann::json kNoMerges = nlohmann::json::array();
  const nlohmann::json& merges = field("merges").is_null() ? kNoMerges : field("merges");
  if (!merges.is_array()) return invalid_argument("model.merges: expected an array");
  auto table = std::make_shared<MergeTable>(merges.size());
  const size_t prefix_len = m->continuing_subword_prefix_.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& e = merges[rank];
    std::string a, b;
    if (e.is_string()) {
      const std::string s = e.get<std::string>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        return invalid_argument("model.merges[" + std::to_string(rank) + "]: expected \"left right\", got " +
                                json_snippet(e));
      }
      a = s.substr(0, sp);
      b = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      a = e[0].get<std::string>();
      b = e[1].get<std::string>();
    } else {
      return invalid_argument("model.merges[" + std::to_string(rank) + "]: expected a string or a pair, got " +
                              json_snippet(e));
    }
    const int32_t ia = m->lookup(a), ib = m->lookup(b);
    std::string merged = a + (prefix_len > 0 && b.compare(0, prefix_len, m->continuing_subword_prefix_) == 0
                                  ? b.substr(prefix_len) : b);
    const int32_t im = m->lookup(merged);
    if (ia < 0 || ib < 0 || im < 0) {
      return invalid_argument("model.merges[" + std::to_string(rank) + "]: " + json_snippet(e) +
                              " uses a token that is not in the vocabulary");
    }
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(ia)) << 32) | static_cast<uint32_t>(ib);
    table->insert(key, static_cast<int32_t>(rank), im);
  }
  m->merges_ = std::move(table);
  return m;
}

int32_t BpeModel::lookup(std::string_view token) const {
  const uint64_t h = std::hash<std::string_view>{}(token);
  const uint64_t tag = h >> 32;
  for (uint64_t i = h & slot_mask_;; i = (i + 1) & slot_mask_) {
    const uint64_t e = slots_[i];
    if (e == 0) return -1;
    if ((e >> 32) == tag) {
      const int32_t id = static_cast<int32_t>(e & 0xFFFFFFFFu) - 1;
      if (id_to_token_[id] == token) return id;
    }
  }
}

void BpeModel::index_insert(int32_t id) {
  const uint64_t h = std::hash<std::string_view>{}(id_to_token_[id]);
  uint64_t i = h & slot_mask_;
  while (slots_[i] != 0) i = (i + 1) & slot_mask_;
  slots_[i] = ((h >> 32) << 32) | static_cast<uint64_t>(id + 1);
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const int32_t id = lookup(token);
  if (id < 0) return std::nullopt;
  return id;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(id_to_token_.size())) return nullptr;
  const std::string& t = id_to_token_[id];
  if (t.empty()) return nullptr;
  return &t;
}

int32_t BpeModel::char_id(std::string_view ch, bool first, bool last) const {
  if (continuing_subword_prefix_.empty() && end_of_word_suffix_.empty()) {
    const char32_t cp = utf8_decode_at(ch, 0, ch.size());
    if (cp < 0x10000) return bmp_char_id_[cp];
    return lookup(ch);
  }
  std::string s = (!first ? continuing_subword_prefix_ : std::string()) + std::string(ch) +
                  (last ? end_of_word_suffix_ : std::string());
  return lookup(s);
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  bool prev_unk = false;
  for (size_t i = 0; i < word.size();) {
    size_t len = utf8_valid_len(word, i);
    if (len == 0) len = 1;  // input is valid UTF-8; defensive
    const std::string_view ch = word.substr(i, len);
    const int32_t id = char_id(ch, i == 0, i + len == word.size());
    i += len;
    if (id >= 0) {
      syms.push_back({id, 0, 0, true});
      prev_unk = false;
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char c : ch) all = all && byte_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : ch) syms.push_back({byte_ids_[c], 0, 0, true});
        prev_unk = false;
        continue;
      }
    }
    if (unk_id_) {
      if (!(fuse_unk_ && prev_unk)) syms.push_back({*unk_id_, 0, 0, true});
      prev_unk = true;
    }
  }
  const int32_t n = static_cast<int32_t>(syms.size());
  for (int32_t i = 0; i < n; ++i) {
    syms[i].prev = i - 1;
    syms[i].next = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int32_t rank, pos, new_id;
    bool operator<(const Cand& o) const {  // priority_queue pops the largest: invert
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Cand> heap_storage;
  heap_storage.reserve(static_cast<size_t>(n));
  std::priority_queue<Cand> heap(std::less<Cand>(), std::move(heap_storage));
  const MergeTable& mt = *merges_;
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const auto* s = mt.find(syms[i].id, syms[i + 1].id)) heap.push({s->rank, i, s->new_id});
  }
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    Symbol& left = syms[c.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = syms[left.next];
    const auto* cur = mt.find(left.id, right.id);
    if (cur == nullptr || cur->new_id != c.new_id) continue;  // stale candidate
    left.id = c.new_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) syms[right.next].prev = c.pos;
    if (left.prev >= 0) {
      if (const auto* s = mt.find(syms[left.prev].id, left.id)) heap.push({s->rank, left.prev, s->new_id});
    }
    if (left.next >= 0) {
      if (const auto* s = mt.find(left.id, syms[left.next].id)) heap.push({s->rank, c.pos, s->new_id});
    }
  }
  for (int32_t i = n > 0 ? 0 : -1; i >= 0; i = syms[i].next) out.push_back(syms[i].id);
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t id = lookup(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() >= kCacheMaxEntries) cache_.clear();
    cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + static_cast<long>(start), out.end()));
  }
}

}  // namespace swaa::tok
