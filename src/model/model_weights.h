// Weights of the Llama/Qwen2/Qwen3/Qwen3-MoE decoder, loaded from a checkpoint by their Hugging
// Face names with every shape checked against config.json (errors name tensor, file and shapes).
// Tests: tests/unit/model/model_weights_test.cc, tests/e2e/.
#pragma once

#include <vector>

#include "backend/backend.h"
#include "io/model_config.h"
#include "io/safetensors.h"

namespace swaa {

struct LayerWeights {
  Tensor input_norm;                   // [H]
  Tensor q_proj, k_proj, v_proj;       // [heads*D, H], [kv_heads*D, H], [kv_heads*D, H]
  Tensor q_bias, k_bias, v_bias;       // optional (qwen2, llama attention_bias)
  Tensor o_proj, o_bias;               // [H, heads*D], optional bias
  Tensor q_norm, k_norm;               // [D] (qwen3)
  Tensor post_attention_norm;          // [H]
  Tensor gate_proj, up_proj, down_proj;  // dense MLP [I, H], [I, H], [H, I]
  Tensor gate_bias, up_bias, down_bias;  // optional (llama mlp_bias)
  MoeWeights moe;                      // MoE layers (router defined)
  bool is_moe = false;
};

struct ModelWeights {
  Tensor embed_tokens;  // [V, H]
  std::vector<LayerWeights> layers;
  Tensor final_norm;    // [H]
  Tensor lm_head;       // [V, H] (shares embed_tokens when tied)
};

Result<ModelWeights> load_model_weights(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend);

}  // namespace swaa
