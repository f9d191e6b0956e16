// Tokenizer loading, encode and decode; see include/swaa/tokenizer.h.
#include "swaa/tokenizer.h"

#include <cstdio>
#include <filesystem>

#include "core/json_util.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace swaa {

Status Tokenizer::Impl::encode_piece(std::string text, bool at_origin, std::vector<int32_t>& ids) const {
  normalizer.apply(text);
  // Added tokens that match normalized text (none in the shipped files, but supported).
  std::vector<tok::Segment> segs = added.has_normalized() ? added.split(text, true)
                                                          : std::vector<tok::Segment>{{-1, 0, text.size()}};
  for (const tok::Segment& s : segs) {
    if (s.id >= 0) {
      ids.push_back(s.id);
      continue;
    }
    if (s.end == s.begin) continue;
    SWAA_RETURN_IF_ERROR(pre_tokenizer.for_each_word(std::string_view(text).substr(s.begin, s.end - s.begin),
                                                     at_origin && s.begin == 0,
                                                     [&](std::string_view w) { model->tokenize(w, ids); }));
  }
  return {};
}

Result<std::vector<int32_t>> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const size_t bad = tok::utf8_first_invalid(text);
  if (bad != std::string_view::npos) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "%02X", static_cast<unsigned char>(text[bad]));
    return invalid_argument(std::string("tokenizer: input is not valid UTF-8 (byte 0x") + hex + " at offset " +
                            std::to_string(bad) + ")");
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const tok::Segment& s : impl_->added.split(text, false)) {
    if (s.id >= 0) {
      ids.push_back(s.id);
    } else if (s.end > s.begin) {
      SWAA_RETURN_IF_ERROR(impl_->encode_piece(std::string(text.substr(s.begin, s.end - s.begin)), s.begin == 0, ids));
    }
  }
  if (add_special_tokens) ids = impl_->post_processor.apply(std::move(ids));
  return ids;
}

std::string Tokenizer::Impl::decode(std::span<const int32_t> ids, bool skip_special, bool lossy) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const tok::AddedToken* a = added.by_id(id)) {
      if (skip_special && a->special) continue;
      tokens.push_back(a->match);  // normalized tokens decode in their normalized form, as in HF
    } else if (const std::string* t = model->id_to_token(id)) {
      tokens.push_back(*t);
    }
  }
  return decoder.decode(std::move(tokens), lossy);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return impl_->decode(ids, skip_special_tokens);
}

std::string Tokenizer::token_bytes(int32_t id) const {
  return impl_->decode(std::span<const int32_t>(&id, 1), /*skip_special=*/false, /*lossy=*/false);
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const tok::AddedToken* a = impl_->added.by_content(token)) return a->id;
  return impl_->model->token_to_id(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (const tok::AddedToken* a = impl_->added.by_id(id)) return a->content;
  if (const std::string* t = impl_->model->id_to_token(id)) return *t;
  return std::nullopt;
}

bool Tokenizer::is_special(int32_t id) const {
  const tok::AddedToken* a = impl_->added.by_id(id);
  return a != nullptr && a->special;
}

const TokenizerConfig& Tokenizer::config() const { return impl_->config; }

Result<Tokenizer> Tokenizer::from_files(const std::string& tokenizer_json, const std::string& tokenizer_config,
                                        const std::string& generation_config) {
  SWAA_ASSIGN_OR_RETURN(nlohmann::json j, read_json_file(tokenizer_json));
  auto impl = std::make_shared<Impl>();
  auto ctx = [&](const char* field) { return tokenizer_json + ": " + field; };
  if (!j.is_object()) return invalid_argument(tokenizer_json + ": expected a JSON object");
  {
    auto r = tok::Normalizer::from_json(j.value("normalizer", nlohmann::json()));
    if (!r.ok()) return r.status().with_context(tokenizer_json);
    impl->normalizer = std::move(r).value();
  }
  {
    const tok::Normalizer& norm = impl->normalizer;
    auto r = tok::AddedVocabulary::from_json(j.value("added_tokens", nlohmann::json()), [&norm](const std::string& s) {
      std::string t = s;
      norm.apply(t);
      return t;
    });
    if (!r.ok()) return r.status().with_context(ctx("added_tokens"));
    impl->added = std::move(r).value();
  }
  {
    auto r = tok::PreTokenizer::from_json(j.value("pre_tokenizer", nlohmann::json()));
    if (!r.ok()) return r.status().with_context(tokenizer_json);
    impl->pre_tokenizer = std::move(r).value();
  }
  {
    if (!j.contains("model")) return invalid_argument(tokenizer_json + ": no \"model\" field");
    auto r = tok::BpeModel::from_json(j["model"]);
    if (!r.ok()) return r.status().with_context(tokenizer_json);
    impl->model = std::move(r).value();
  }
  {
    auto r = tok::PostProcessor::from_json(j.value("post_processor", nlohmann::json()));
    if (!r.ok()) return r.status().with_context(tokenizer_json);
    impl->post_processor = std::move(r).value();
  }
  {
    auto r = tok::Decoder::from_json(j.value("decoder", nlohmann::json()));
    if (!r.ok()) return r.status().with_context(tokenizer_json);
    impl->decoder = std::move(r).value();
  }
  impl->vocab_size = impl->model->vocab_size();
  for (const auto& a : impl->added.tokens()) impl->vocab_size = std::max(impl->vocab_size, a.id + 1);
  if (!tokenizer_config.empty()) SWAA_RETURN_IF_ERROR(load_tokenizer_config(tokenizer_config, *impl, impl->config));
  if (!generation_config.empty()) SWAA_RETURN_IF_ERROR(load_generation_config(generation_config, impl->config));
  if (impl->config.stop_token_ids.empty() && impl->config.eos_token_id) {
    impl->config.stop_token_ids.push_back(*impl->config.eos_token_id);
  }
  return Tokenizer(std::move(impl));
}

Result<Tokenizer> Tokenizer::from_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found(dir + ": no such directory");
  const fs::path d(dir);
  const std::string tj = (d / "tokenizer.json").string();
  if (!fs::exists(tj, ec)) {
    return not_found(dir + ": no tokenizer.json (swaa reads Hugging Face fast-tokenizer files only)");
  }
  const std::string tc = (d / "tokenizer_config.json").string();
  const std::string gc = (d / "generation_config.json").string();
  SWAA_ASSIGN_OR_RETURN(Tokenizer t, from_files(tj, fs::exists(tc, ec) ? tc : "", fs::exists(gc, ec) ? gc : ""));
  // Newer checkpoints keep the template beside the config; Transformers prefers that file.
  TokenizerConfig& cfg = std::const_pointer_cast<Impl>(t.impl_)->config;
  const std::string jinja = (d / "chat_template.jinja").string();
  const std::string json = (d / "chat_template.json").string();  // processor-style {"chat_template": ...}
  if (fs::exists(jinja, ec)) {
    SWAA_ASSIGN_OR_RETURN(cfg.chat_template, read_file(jinja));
  } else if (cfg.chat_template.empty() && fs::exists(json, ec)) {
    SWAA_ASSIGN_OR_RETURN(nlohmann::json j, read_json_file(json));
    if (!j.is_object() || !j.contains("chat_template") || !j["chat_template"].is_string()) {
      return invalid_argument(json + ": expected {\"chat_template\": \"...\"}");
    }
    cfg.chat_template = j["chat_template"].get<std::string>();
  }
  return t;
}

}  // namespace swaa
