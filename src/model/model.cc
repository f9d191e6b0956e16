// The forward pass, top to bottom: embed -> per layer (RMSNorm, q/k/v, q/k norm, RoPE, KV write,
// SWAA attention, o_proj, residual, RMSNorm, SwiGLU MLP or MoE, residual) -> final norm -> lm_head.
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "swaa/sampling_params.h"

namespace swaa {

Result<std::unique_ptr<Model>> Model::load(const std::string& dir, Backend& backend, const SwaaConfig& swaa) {
  SWAA_ASSIGN_OR_RETURN(ModelConfig config, ModelConfig::load(dir));
  SWAA_ASSIGN_OR_RETURN(Checkpoint ck, Checkpoint::open(dir));
  std::unique_ptr<Model> m(new Model(std::move(config), std::move(ck), backend));
  SWAA_ASSIGN_OR_RETURN(m->policies_, resolve_layer_policies(swaa, m->config_.num_layers));
  SWAA_ASSIGN_OR_RETURN(m->weights_, load_model_weights(m->config_, m->checkpoint_, backend));
  m->rope_ = compute_rope_table(m->config_);
  std::vector<const MoeWeights*> moe;
  for (const LayerWeights& w : m->weights_.layers) {
    if (w.is_moe) moe.push_back(&w.moe);
  }
  if (!moe.empty()) backend.set_moe_layers(moe);
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
  SWAA_ASSIGN_OR_RETURN(Tensor q, scratch({n, c.num_heads, D}));     // [n, heads, D]
  SWAA_ASSIGN_OR_RETURN(Tensor k, scratch({n, c.num_kv_heads, D}));  // [n, kv_heads, D]
  SWAA_ASSIGN_OR_RETURN(Tensor v, scratch({n, c.num_kv_heads, D}));  // [n, kv_heads, D]
  const Projection qkv[] = {
      {&w.q_proj, opt(w.q_bias), &q}, {&w.k_proj, opt(w.k_bias), &k}, {&w.v_proj, opt(w.v_bias), &v}};
  backend_.linears(x, qkv);
  const KvGroup group = layer_group(layer);
  backend_.attention_inputs(q, k, v, c.qk_norm ? &w.q_norm : nullptr, c.qk_norm ? &w.k_norm : nullptr,
                            static_cast<float>(c.rms_norm_eps), rope_.inv_freq, rope_.attention_scaling, group,
                            k_cache_[layer], v_cache_[layer]);
  SWAA_ASSIGN_OR_RETURN(Tensor attn, scratch({n, c.num_heads, D}));  // [n, heads, D]
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
  SWAA_ASSIGN_OR_RETURN(Tensor gate, scratch({n, I}));  // [n, I]
  SWAA_ASSIGN_OR_RETURN(Tensor up, scratch({n, I}));    // [n, I]
  backend_.swiglu_linear(x, w.gate_proj, opt(w.gate_bias), w.up_proj, opt(w.up_bias), gate, up);
  backend_.linear(gate, w.down_proj, opt(w.down_bias), out);
  return Status();
}

Result<std::vector<float>> Model::forward(const std::vector<int32_t>& ids, const AttentionLayout& layout,
                                          const std::vector<int>& logit_rows) {
  SWAA_ASSIGN_OR_RETURN(Backend::StepResult r, run_step(ids, layout, logit_rows, nullptr));
  return std::move(r.logits);
}

Result<DrawnTokens> Model::forward_tokens(const std::vector<int32_t>& ids, const AttentionLayout& layout,
                                          const std::vector<int>& logit_rows, const StepDraws& draws) {
  if (draws.rows.size() != logit_rows.size()) {
    return internal_error("forward_tokens: " + std::to_string(draws.rows.size()) + " draws for " +
                          std::to_string(logit_rows.size()) + " logit rows");
  }
  for (const TokenDraw& d : draws.rows) {
    if (d.logprobs < -1 || d.logprobs > std::min(kMaxLogprobs, config_.vocab_size)) {
      return internal_error("forward_tokens: a draw asks for " + std::to_string(d.logprobs) +
                            " top logprobs (at most " + std::to_string(kMaxLogprobs) + ")");
    }
  }
  for (const LogitEdit& e : draws.edits) {
    if (e.row < 0 || static_cast<size_t>(e.row) >= logit_rows.size() || e.token < 0 || e.token >= config_.vocab_size) {
      return internal_error("forward_tokens: a penalty edit of row " + std::to_string(e.row) + ", token " +
                            std::to_string(e.token) + " lies outside the " + std::to_string(logit_rows.size()) +
                            " x " + std::to_string(config_.vocab_size) + " logits");
    }
  }
  SWAA_ASSIGN_OR_RETURN(Backend::StepResult r, run_step(ids, layout, logit_rows, &draws));
  return std::move(r.drawn);
}

Result<Backend::StepResult> Model::run_step(const std::vector<int32_t>& ids, const AttentionLayout& layout,
                                            const std::vector<int>& logit_rows,
                                            const StepDraws* draws) {
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
  for (int r : logit_rows) {
    if (r < 0 || r >= n) return internal_error("forward: logit row " + std::to_string(r) + " out of range");
  }
  backend_.begin_step(layout);
  if (std::optional<Backend::StepResult> replayed = backend_.replay_step(ids, logit_rows, draws)) {
    return std::move(*replayed);
  }
  SWAA_ASSIGN_OR_RETURN(Tensor x, scratch({n, H}));    // [n, H] residual stream
  SWAA_ASSIGN_OR_RETURN(Tensor h, scratch({n, H}));    // [n, H] normed input of a block
  SWAA_ASSIGN_OR_RETURN(Tensor out, scratch({n, H}));  // [n, H] block output
  backend_.embedding(weights_.embed_tokens, ids, x);
  const float eps = static_cast<float>(c.rms_norm_eps);
  // Each residual add is fused with the norm that follows it (the next block's input norm).
  if (c.num_layers > 0) backend_.rms_norm(x, weights_.layers[0].input_norm, eps, h);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = weights_.layers[l];
    SWAA_RETURN_IF_ERROR(attention_block(l, h, out));
    backend_.add_rms_norm(x, out, w.post_attention_norm, eps, h);
    SWAA_RETURN_IF_ERROR(mlp_block(l, h, out));
    if (l + 1 < c.num_layers) {
      backend_.add_rms_norm(x, out, weights_.layers[l + 1].input_norm, eps, h);
    } else {
      backend_.add_inplace(x, out);  // the final norm runs on the logit rows only
    }
  }
  const int64_t rows = static_cast<int64_t>(logit_rows.size());
  SWAA_ASSIGN_OR_RETURN(Tensor picked, scratch({rows, H}));  // [rows, H]
  backend_.gather_rows(x, logit_rows, picked);
  backend_.rms_norm(picked, weights_.final_norm, eps, picked);
  SWAA_ASSIGN_OR_RETURN(Tensor logits, backend_.scratch({rows, c.vocab_size}, DType::kF32));  // [rows, V]
  backend_.linear(picked, weights_.lm_head, nullptr, logits);
  // A failed recording ran nothing and switched recording off: run the step again, directly.
  if (!backend_.end_step()) return run_step(ids, layout, logit_rows, draws);
  Backend::StepResult result;
  if (draws != nullptr) {
    if (rows > 0) result.drawn = backend_.draw_rows_f32(logits, *draws);
  } else {
    result.logits.resize(static_cast<size_t>(rows) * c.vocab_size);
    if (rows > 0) backend_.to_host_f32(logits, 0, rows, result.logits.data());
  }
  return result;
}

Result<Tensor> Model::scratch(const std::vector<int64_t>& shape) {
  return backend_.scratch(shape, backend_.compute_dtype());
}

}  // namespace swaa
