// Model: the decoder of the Llama/Qwen2/Qwen3/Qwen3-MoE family, with its per-layer SWAA policy and
// its paged KV cache storage. One forward pass runs a varlen batch (AttentionLayout) through
// every layer and returns logits for the requested rows.
// Tests: tests/e2e/hf_fixtures_test.cc (against Transformers), tests/unit/model/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attention/layer_policy.h"
#include "backend/backend.h"
#include "io/model_config.h"
#include "io/safetensors.h"
#include "kv/kv_cache_manager.h"
#include "model/model_weights.h"
#include "swaa/swaa_config.h"

namespace swaa {

class Model {
 public:
  // Loads config.json and the safetensors weights of `dir` onto `backend`.
  static Result<std::unique_ptr<Model>> load(const std::string& dir, Backend& backend, const SwaaConfig& swaa);

  const ModelConfig& config() const { return config_; }
  const std::vector<LayerPolicy>& policies() const { return policies_; }
  KvGroup layer_group(int layer) const {
    return policies_[layer].windowed_kv() ? KvGroup::kWindowed : KvGroup::kFull;
  }

  // KV cache spec for this model: layers per group, bytes per token in the backend's dtype.
  KvCacheSpec kv_spec(int block_size, int full_blocks, int windowed_blocks) const;
  // Allocates the cache tensors for `spec` (must come from kv_spec()).
  Status allocate_kv(const KvCacheSpec& spec);

  // Runs the batch; returns fp32 logits [logit_rows.size(), vocab] row-major. Token ids outside
  // the vocabulary are an InvalidArgument error naming the id and its index.
  Result<std::vector<float>> forward(const std::vector<int32_t>& ids, const AttentionLayout& layout,
                                     const std::vector<int>& logit_rows);
  // The same step, returning only the token draws.rows[r] draws from logit row r once draws.edits
  // (the penalties) are applied (TokenDraw's rule; greedy draws take the first index of the
  // maximum) and, where a draw asks, its logprobs, and leaving the logits on the backend: a device
  // backend copies rows x 4 bytes back (and the logprobs' values) instead of rows x vocab x 4.
  Result<DrawnTokens> forward_tokens(const std::vector<int32_t>& ids, const AttentionLayout& layout,
                                              const std::vector<int>& logit_rows, const StepDraws& draws);
  // Whether forward_tokens draws sampled (not only greedy) rows without copying their logits.
  bool draws_on_device() const { return backend_.draws_on_device(); }

 private:
  Model(ModelConfig config, Checkpoint checkpoint, Backend& backend)
      : config_(std::move(config)), checkpoint_(std::move(checkpoint)), backend_(backend) {}
  Result<Backend::StepResult> run_step(const std::vector<int32_t>& ids, const AttentionLayout& layout,
                                       const std::vector<int>& logit_rows, const StepDraws* draws);
  Status attention_block(int layer, const Tensor& x, Tensor& out);
  Status mlp_block(int layer, const Tensor& x, Tensor& out);
  // An activation in the compute dtype that the next op fills entirely (Backend::scratch).
  Result<Tensor> scratch(const std::vector<int64_t>& shape);

  ModelConfig config_;
  Checkpoint checkpoint_;
  Backend& backend_;
  ModelWeights weights_;
  std::vector<LayerPolicy> policies_;
  RopeTable rope_;
  std::vector<Tensor> k_cache_, v_cache_;  // per layer [num_blocks * block_size, kv_heads, head_dim]
};

}  // namespace swaa
