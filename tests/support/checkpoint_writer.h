// Test support: writes safetensors files and tiny random Hugging Face-style checkpoints
// (config.json + model.safetensors) of every supported architecture, so tests need no fixtures
// to exercise loading, the forward pass and the KV cache.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dtype.h"

namespace swaa::testing {

struct HostTensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<float> values;  // values as stored (already rounded to dtype)
};
using TensorMap = std::map<std::string, HostTensor>;

// Serialises `tensors` in safetensors format (values converted to each tensor's dtype).
void write_safetensors(const std::string& path, const TensorMap& tensors);

struct RandomModelSpec {
  std::string model_type = "qwen3";  // qwen3 | qwen3_moe | qwen2 | llama
  int vocab = 96, hidden = 32, layers = 3, heads = 4, kv_heads = 2, head_dim = 8, intermediate = 48;
  int experts = 4, top_k = 2, moe_intermediate = 16;
  bool tie_embeddings = false;
  DType dtype = DType::kBF16;
  float qk_scale = 3.0f;  // multiplies q/k projections so attention is sharp
  uint64_t seed = 1;
  bool fast_init = false;  // uniform values from a xorshift generator (same std): for multi-GB models
};

// Writes `dir`/config.json and `dir`/model.safetensors; returns the tensors written (rounded values).
TensorMap write_random_model(const std::string& dir, const RandomModelSpec& spec);
nlohmann::json random_model_config(const RandomModelSpec& spec);

// A fresh empty directory under the test temp dir.
std::string make_temp_dir(const std::string& name);

}  // namespace swaa::testing

namespace swaa::testing {

// Writes a byte-level BPE tokenizer (GPT-2 byte alphabet, ids 0..255, no merges) with special
// tokens <|endoftext|> = 256, <|im_start|> = 257, <|im_end|> = 258, a ChatML chat template, and
// eos <|im_end|>: enough for text and chat requests on random models with vocab >= 259.
void write_byte_tokenizer(const std::string& dir);

}  // namespace swaa::testing
