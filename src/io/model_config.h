// ModelConfig: what the forward pass needs from a Hugging Face config.json, for model_type
// qwen3, qwen3_moe, qwen2 and llama. Both rope layouts are accepted: classic
// (`rope_theta` + `rope_scaling`) and Transformers 5 (`rope_parameters`).
// Tests: tests/unit/io/model_config_test.cc
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "swaa/status.h"

namespace swaa {

enum class RopeType { kDefault, kLinear, kLlama3, kYarn };

struct RopeConfig {
  RopeType type = RopeType::kDefault;
  double theta = 10000.0;
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int original_max_position_embeddings = 0;  // 0 = absent
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double attention_factor = 0.0;  // 0 = derive from factor (and mscale)
  double mscale = 0.0;
  double mscale_all_dim = 0.0;
  bool truncate = true;
};

struct ModelConfig {
  std::string model_type;  // qwen3 | qwen3_moe | qwen2 | llama
  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // bias on q/k/v projections (qwen2 always; llama if set)
  bool attention_out_bias = false;  // bias on o_proj (llama attention_bias)
  bool mlp_bias = false;            // llama mlp_bias
  bool qk_norm = false;             // qwen3, qwen3_moe
  RopeConfig rope;
  // MoE (qwen3_moe); num_experts == 0 for dense models.
  int num_experts = 0;
  int num_experts_per_tok = 0;
  int moe_intermediate_size = 0;
  bool norm_topk_prob = false;
  int decoder_sparse_step = 1;
  std::vector<int> mlp_only_layers;

  bool is_moe_layer(int layer_idx) const;
  // Reads `dir`/config.json; every error names the file and the field.
  static Result<ModelConfig> load(const std::string& dir);
  // Parses an already-read config; `source` names it in errors.
  static Result<ModelConfig> from_json(const nlohmann::json& j, const std::string& source);
};

// Inverse frequencies (head_dim/2 values, rounded to fp32 as Transformers computes them) and the
// factor cos/sin are multiplied by (yarn's attention factor; 1 otherwise).
struct RopeTable {
  std::vector<float> inv_freq;
  double attention_scaling = 1.0;
};
RopeTable compute_rope_table(const ModelConfig& config);

}  // namespace swaa
