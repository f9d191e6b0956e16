// Safetensors writer and random checkpoint generator for tests.
#include "support/checkpoint_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

namespace swaa::testing {

void write_safetensors(const std::string& path, const TensorMap& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    const size_t begin = data.size();
    for (float v : t.values) {
      if (t.dtype == DType::kF32) {
        data.append(reinterpret_cast<const char*>(&v), 4);
      } else {
        const uint16_t h = t.dtype == DType::kBF16 ? f32_to_bf16(v) : f32_to_f16(v);
        data.append(reinterpret_cast<const char*>(&h), 2);
      }
    }
    header[name] = {{"dtype", std::string(dtype_name(t.dtype))},
                    {"shape", t.shape},
                    {"data_offsets", {begin, data.size()}}};
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h += ' ';
  std::ofstream out(path, std::ios::binary);
  uint64_t len = h.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
  out << h << data;
}

nlohmann::json random_model_config(const RandomModelSpec& s) {
  nlohmann::json c = {{"model_type", s.model_type},
                      {"vocab_size", s.vocab},
                      {"hidden_size", s.hidden},
                      {"num_hidden_layers", s.layers},
                      {"num_attention_heads", s.heads},
                      {"num_key_value_heads", s.kv_heads},
                      {"head_dim", s.head_dim},
                      {"intermediate_size", s.intermediate},
                      {"max_position_embeddings", 1 << 16},
                      {"rms_norm_eps", 1e-6},
                      {"rope_theta", 10000.0},
                      {"tie_word_embeddings", s.tie_embeddings}};
  if (s.model_type == "qwen3_moe") {
    c["num_experts"] = s.experts;
    c["num_experts_per_tok"] = s.top_k;
    c["moe_intermediate_size"] = s.moe_intermediate;
    c["norm_topk_prob"] = true;
    c["decoder_sparse_step"] = 1;
    c["mlp_only_layers"] = {1};
  }
  return c;
}

TensorMap write_random_model(const std::string& dir, const RandomModelSpec& s) {
  std::mt19937_64 rng(s.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  TensorMap m;
  auto round = [&](float v) {
    if (s.dtype == DType::kBF16) return bf16_to_f32(f32_to_bf16(v));
    if (s.dtype == DType::kF16) return f16_to_f32(f32_to_f16(v));
    return v;
  };
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, float offset = 0.0f) {
    HostTensor t;
    t.dtype = s.dtype;
    t.shape = shape;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    t.values.resize(n);
    if (s.fast_init) {
      // Uniform in [-sqrt(3), sqrt(3)) has unit variance; xorshift64 is ~20x faster than normal().
      uint64_t x = rng() | 1;
      for (float& v : t.values) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const float u = static_cast<float>((x >> 40) * (1.0 / 16777216.0)) * 3.4641016f - 1.7320508f;
        v = round(offset + scale * u);
      }
    } else {
      for (float& v : t.values) v = round(offset + scale * normal(rng));
    }
    m[name] = std::move(t);
  };
  const int64_t H = s.hidden, D = s.head_dim, QD = s.heads * D, KD = s.kv_heads * D;
  const float wscale = 1.0f / std::sqrt(static_cast<float>(H));
  add("model.embed_tokens.weight", {s.vocab, H}, 1.0f);
  add("model.norm.weight", {H}, 0.1f, 1.0f);
  if (!s.tie_embeddings) add("lm_head.weight", {s.vocab, H}, wscale);
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {H}, 0.1f, 1.0f);
    add(p + "post_attention_layernorm.weight", {H}, 0.1f, 1.0f);
    add(p + "self_attn.q_proj.weight", {QD, H}, wscale * s.qk_scale);
    add(p + "self_attn.k_proj.weight", {KD, H}, wscale * s.qk_scale);
    add(p + "self_attn.v_proj.weight", {KD, H}, wscale);
    add(p + "self_attn.o_proj.weight", {H, QD}, wscale);
    if (s.model_type == "qwen2") {
      add(p + "self_attn.q_proj.bias", {QD}, 0.1f);
      add(p + "self_attn.k_proj.bias", {KD}, 0.1f);
      add(p + "self_attn.v_proj.bias", {KD}, 0.1f);
    }
    if (s.model_type == "qwen3" || s.model_type == "qwen3_moe") {
      add(p + "self_attn.q_norm.weight", {D}, 0.1f, 1.0f);
      add(p + "self_attn.k_norm.weight", {D}, 0.1f, 1.0f);
    }
    const bool moe = s.model_type == "qwen3_moe" && l != 1;
    if (!moe) {
      add(p + "mlp.gate_proj.weight", {s.intermediate, H}, wscale);
      add(p + "mlp.up_proj.weight", {s.intermediate, H}, wscale);
      add(p + "mlp.down_proj.weight", {H, s.intermediate}, 1.0f / std::sqrt(static_cast<float>(s.intermediate)));
    } else {
      add(p + "mlp.gate.weight", {s.experts, H}, wscale);
      for (int e = 0; e < s.experts; ++e) {
        const std::string ep = p + "mlp.experts." + std::to_string(e) + ".";
        add(ep + "gate_proj.weight", {s.moe_intermediate, H}, wscale);
        add(ep + "up_proj.weight", {s.moe_intermediate, H}, wscale);
        add(ep + "down_proj.weight", {H, s.moe_intermediate}, 1.0f / std::sqrt(static_cast<float>(s.moe_intermediate)));
      }
    }
  }
  std::filesystem::create_directories(dir);
  write_safetensors(dir + "/model.safetensors", m);
  std::ofstream(dir + "/config.json") << random_model_config(s).dump(2);
  return m;
}

namespace {
// Directories made by this process, removed when it exits (pid-named, so nothing else uses them).
struct TempDirRegistry {
  std::vector<std::filesystem::path> dirs;
  ~TempDirRegistry() {
    std::error_code ec;
    for (const auto& d : dirs) std::filesystem::remove_all(d, ec);
  }
};
TempDirRegistry& temp_dirs() {
  static TempDirRegistry r;
  return r;
}
}  // namespace

std::string make_temp_dir(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string leaf = name;
  if (info != nullptr) leaf = std::string(info->test_suite_name()) + "_" + info->name() + "_" + name;
  for (char& ch : leaf) {
    if (ch == '/') ch = '_';
  }
  // ctest runs every test case in its own process, in parallel; suite-level fixtures
  // (SetUpTestSuite) have no current test, so the pid keeps their directories apart.
  leaf += "_" + std::to_string(::getpid());
  std::filesystem::path p = std::filesystem::path(::testing::TempDir()) / ("swaa_" + leaf);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  temp_dirs().dirs.push_back(p);
  return p.string();
}

}  // namespace swaa::testing

namespace swaa::testing {

void write_byte_tokenizer(const std::string& dir) {
  // GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100.. in order.
  std::vector<int> printable;
  for (int b = '!'; b <= '~'; ++b) printable.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) printable.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) printable.push_back(b);
  std::vector<int> code(256, -1);
  for (int b : printable) code[b] = b;
  int next = 256;
  for (int b = 0; b < 256; ++b) {
    if (code[b] < 0) code[b] = next++;
  }
  auto utf8 = [](int cp) {
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return s;
  };
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[utf8(code[b])] = b;
  nlohmann::json added = nlohmann::json::array();
  const char* specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  for (int i = 0; i < 3; ++i) {
    added.push_back({{"id", 256 + i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  nlohmann::json tok = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                 {"ignore_merges", false}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/tokenizer.json") << tok.dump();
  const std::string chatml =
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
      "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  nlohmann::json cfg = {{"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"}, {"bos_token", nullptr},
                        {"add_bos_token", false}, {"chat_template", chatml}};
  std::ofstream(dir + "/tokenizer_config.json") << cfg.dump();
}

}  // namespace swaa::testing
