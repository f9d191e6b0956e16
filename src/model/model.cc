// The forward pass, top to bottom: embed -> per layer (RMSNorm, q/k/v, q/k norm, RoPE, KV write,
// SWAA attention, o_proj, residual, RMSNorm, SwiGLU MLP or MoE, residual) -> final norm -> lm_head.
#include "model/model.h"

#include <cmath>

namespace swaa {

Result<std::unique_ptr<Model>> Model::load(const std::string& dir, Backend& backend, const SwaaConfig& swaa) {
  SWAA_ASSIGN_OR_RETURN(ModelConfig config, ModelConfig::load(dir));
  SWAA_ASSIGN_OR_RETURN(Checkpoint ck, Checkpoint::open(dir));
  std::unique_ptr<Model> m(new Model(std::move(config), std::move(ck), backend));
  SWAA_ASSIGN_OR_RETURN(m->policies_, resolve_layer_policies(swaa, m->config_.num_layers));
  SWAA_ASSIGN_OR_RETURN(m->weights_, load_model_weights(m->config_, m->checkpoint_, backend));
  m->rope_ = compute_rope_table(m->config_);
  return m;
}

KvCacheSpec Model::kv_spec(int block_size, int full_blocks, int windowed_blocks) const {
  KvCacheSpec spec;
  spec.block_size = block_size;
  for (const LayerPolicy& p : policies_) {
    if (p.windowed_kv()) {
      spec.window = p.window;
      spec.keep_first = p.keep_first;
    }
  }
  const int64_t per_token = 2LL * config_.num_kv_heads * config_.head_dim * dtype_size(backend_.compute_dtype());
  for (int l = 0; l < config_.num_layers; ++l) spec.groups[static_cast<int>(layer_group(l))].num_layers++;
  spec.groups[0].num_blocks = full_blocks;
  spec.groups[1].num_blocks = windowed_blocks;
  for (auto& g : spec.groups) g.bytes_per_token = per_token;
  return spec;
}

Status Model::allocate_kv(const KvCacheSpec& spec) {
  k_cache_.assign(config_.num_layers, Tensor());
  v_cache_.assign(config_.num_layers, Tensor());
  for (int l = 0; l < config_.num_layers; ++l) {
    const int64_t rows = static_cast<int64_t>(spec.groups[static_cast<int>(layer_group(l))].num_blocks) * spec.block_size;
    SWAA_ASSIGN_OR_RETURN(k_cache_[l], backend_.alloc({rows, config_.num_kv_heads, config_.head_dim}));
    SWAA_ASSIGN_OR_RETURN(v_cache_[l], backend_.alloc({rows, config_.num_kv_heads, config_.head_dim}));
  }
  return Status();
}

Status Model::attention_block(int layer, const Tensor& x, Tensor& out) {
  const ModelConfig& c = config_;
  const LayerWeights& w = weights_.layers[layer];
  const int64_t n = x.dim(0), D = c.head_dim;
  auto opt = [](const Tensor& t) { return t.defined() ? &t : nullptr; };
  SWAA_ASSIGN_OR_RETURN(Tensor q, backend_.alloc({n, c.num_heads, D}));     // [n, heads, D]
  SWAA_ASSIGN_OR_RETURN(Tensor k, backend_.alloc({n, c.num_kv_heads, D}));  // [n, kv_heads, D]
  SWAA_ASSIGN_OR_RETURN(Tensor v, backend_.alloc({n, c.num_kv_heads, D}));  // [n, kv_heads, D]
  backend_.linear(x, w.q_proj, opt(w.q_bias), q);
  backend_.linear(x, w.k_proj, opt(w.k_bias), k);
  backend_.linear(x, w.v_proj, opt(w.v_bias), v);
  if (c.qk_norm) {
    backend_.rms_norm(q, w.q_norm, static_cast<float>(c.rms_norm_eps), q);
    backend_.rms_norm(k, w.k_norm, static_cast<float>(c.rms_norm_eps), k);
  }
  backend_.rope(q, rope_.inv_freq, rope_.attention_scaling);
  backend_.rope(k, rope_.inv_freq, rope_.attention_scaling);
  const KvGroup group = layer_group(layer);
  backend_.kv_write(k, v, group, k_cache_[layer], v_cache_[layer]);
  SWAA_ASSIGN_OR_RETURN(Tensor attn, backend_.alloc({n, c.num_heads, D}));  // [n, heads, D]
  backend_.attention(q, k_cache_[layer], v_cache_[layer], group, policies_[layer],
                     static_cast<float>(1.0 / std::sqrt(static_cast<double>(D))), attn);
  backend_.linear(attn.reshaped({n, c.num_heads * D}), w.o_proj, opt(w.o_bias), out);  // [n, H]
  return Status();
}

Status Model::mlp_block(int layer, const Tensor& x, Tensor& out) {
  const LayerWeights& w = weights_.layers[layer];
  if (w.is_moe) {
    backend_.moe(x, w.moe, out);
    return Status();
  }
  auto opt = [](const Tensor& t) { return t.defined() ? &t : nullptr; };
  const int64_t n = x.dim(0), I = config_.intermediate_size;
  SWAA_ASSIGN_OR_RETURN(Tensor gate, backend_.alloc({n, I}));  // [n, I]
  SWAA_ASSIGN_OR_RETURN(Tensor up, backend_.alloc({n, I}));    // [n, I]
  backend_.linear(x, w.gate_proj, opt(w.gate_bias), gate);
  backend_.linear(x, w.up_proj, opt(w.up_bias), up);
  backend_.silu_mul(gate, up, gate);
  backend_.linear(gate, w.down_proj, opt(w.down_bias), out);
  return Status();
}

Result<std::vector<float>> Model::forward(const std::vector<int32_t>& ids, const AttentionLayout& layout,
                                          const std::vector<int>& logit_rows) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(ids.size()), H = c.hidden_size;
  if (n != layout.num_tokens) return internal_error("forward: ids and layout disagree on the token count");
  if (k_cache_.empty()) return internal_error("forward: allocate_kv() was not called");
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= c.vocab_size) {
      return invalid_argument("token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                              " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    }
  }
  backend_.begin_step(layout);
  SWAA_ASSIGN_OR_RETURN(Tensor x, backend_.alloc({n, H}));    // [n, H] residual stream
  SWAA_ASSIGN_OR_RETURN(Tensor h, backend_.alloc({n, H}));    // [n, H] normed input of a block
  SWAA_ASSIGN_OR_RETURN(Tensor out, backend_.alloc({n, H}));  // [n, H] block output
  backend_.embedding(weights_.embed_tokens, ids, x);
  const float eps = static_cast<float>(c.rms_norm_eps);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    backend_.rms_norm(x, w.input_norm, eps, h);
    SWAA_RETURN_IF_ERROR(attention_block(l, h, out));
    backend_.add_inplace(x, out);
    backend_.rms_norm(x, w.post_attention_norm, eps, h);
    SWAA_RETURN_IF_ERROR(mlp_block(l, h, out));
    backend_.add_inplace(x, out);
  }
  const int64_t rows = static_cast<int64_t>(logit_rows.size());
  for (int r : logit_rows) {
    if (r < 0 || r >= n) return internal_error("forward: logit row " + std::to_string(r) + " out of range");
  }
  SWAA_ASSIGN_OR_RETURN(Tensor picked, backend_.alloc({rows, H}));  // [rows, H]
  backend_.gather_rows(x, logit_rows, picked);
  backend_.rms_norm(picked, weights_.final_norm, eps, picked);
  SWAA_ASSIGN_OR_RETURN(Tensor logits, backend_.alloc({rows, c.vocab_size}, DType::kF32));  // [rows, V]
  backend_.linear(picked, weights_.lm_head, nullptr, logits);
  std::vector<float> host(static_cast<size_t>(rows) * c.vocab_size);
  if (rows > 0) backend_.to_host_f32(logits, 0, rows, host.data());
  return host;
}

}  // namespace swaa
