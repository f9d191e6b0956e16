// Hugging Face weight names -> ModelWeights, uploading each tensor to the backend once.
// Qwen3-MoE experts are accepted per expert (`mlp.experts.E.gate_proj.weight`, the Hub layout).
// The projections that read the same input (q/k/v, gate/up) are uploaded as one matrix, their rows
// one after the other, and kept as row views of it: a backend may then run them as one GEMM
// (CudaBackend::linears and swiglu_linear for decode batches).
#include "model/model_weights.h"

#include <string>
#include <vector>

namespace swaa {
namespace {

class Loader {
 public:
  Loader(const Checkpoint& ck, Backend& backend) : ck_(ck), backend_(backend) {}

  Result<Tensor> get(const std::string& name, std::vector<int64_t> shape) {
    SWAA_ASSIGN_OR_RETURN(TensorView view, ck_.get(name, shape));
    return backend_.upload(view);
  }
  // Matrices of the same input width and dtype as row views of one upload ([sum of rows, width]);
  // separate uploads when their dtypes differ.
  Result<std::vector<Tensor>> get_stacked(const std::vector<std::string>& names,
                                          const std::vector<std::vector<int64_t>>& shapes) {
    std::vector<TensorView> views;
    int64_t rows = 0;
    bool same_dtype = true;
    for (size_t i = 0; i < names.size(); ++i) {
      SWAA_ASSIGN_OR_RETURN(TensorView v, ck_.get(names[i], shapes[i]));
      same_dtype = same_dtype && v.dtype == (views.empty() ? v.dtype : views[0].dtype);
      rows += v.shape[0];
      views.push_back(std::move(v));
    }
    std::vector<Tensor> out;
    if (!same_dtype) {
      for (const TensorView& v : views) {
        SWAA_ASSIGN_OR_RETURN(Tensor t, backend_.upload(v));
        out.push_back(std::move(t));
      }
      return out;
    }
    std::vector<unsigned char> host;
    for (const TensorView& v : views) {
      const auto* b = static_cast<const unsigned char*>(v.data);
      host.insert(host.end(), b, b + v.num_bytes);
    }
    TensorView stacked = views[0];
    stacked.name = names[0] + " (stacked with " + std::to_string(names.size() - 1) + " more)";
    stacked.shape[0] = rows;
    stacked.data = host.data();
    stacked.num_bytes = host.size();
    SWAA_ASSIGN_OR_RETURN(Tensor all, backend_.upload(stacked));
    int64_t at = 0;
    for (const TensorView& v : views) {
      out.push_back(all.rows(at, v.shape[0]));
      at += v.shape[0];
    }
    return out;
  }
  // Optional tensor: returns an undefined Tensor when absent and `required` is false.
  Result<Tensor> get_if(bool required, const std::string& name, std::vector<int64_t> shape) {
    if (!required) return Tensor();
    return get(name, std::move(shape));
  }

 private:
  const Checkpoint& ck_;
  Backend& backend_;
};

}  // namespace

Result<ModelWeights> load_model_weights(const ModelConfig& c, const Checkpoint& ck, Backend& backend) {
  Loader ld(ck, backend);
  ModelWeights w;
  const int64_t H = c.hidden_size, V = c.vocab_size, D = c.head_dim;
  const int64_t QD = static_cast<int64_t>(c.num_heads) * D, KD = static_cast<int64_t>(c.num_kv_heads) * D;
  SWAA_ASSIGN_OR_RETURN(w.embed_tokens, ld.get("model.embed_tokens.weight", {V, H}));
  SWAA_ASSIGN_OR_RETURN(w.final_norm, ld.get("model.norm.weight", {H}));
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;
  } else {
    SWAA_ASSIGN_OR_RETURN(w.lm_head, ld.get("lm_head.weight", {V, H}));
  }
  w.layers.resize(c.num_layers);
  for (int l = 0; l < c.num_layers; ++l) {
    LayerWeights& L = w.layers[l];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    SWAA_ASSIGN_OR_RETURN(L.input_norm, ld.get(p + "input_layernorm.weight", {H}));
    SWAA_ASSIGN_OR_RETURN(L.post_attention_norm, ld.get(p + "post_attention_layernorm.weight", {H}));
    SWAA_ASSIGN_OR_RETURN(std::vector<Tensor> qkv, ld.get_stacked({p + "self_attn.q_proj.weight",
                                                                    p + "self_attn.k_proj.weight",
                                                                    p + "self_attn.v_proj.weight"},
                                                                   {{QD, H}, {KD, H}, {KD, H}}));
    L.q_proj = qkv[0], L.k_proj = qkv[1], L.v_proj = qkv[2];
    SWAA_ASSIGN_OR_RETURN(L.o_proj, ld.get(p + "self_attn.o_proj.weight", {H, QD}));
    SWAA_ASSIGN_OR_RETURN(L.q_bias, ld.get_if(c.attention_bias, p + "self_attn.q_proj.bias", {QD}));
    SWAA_ASSIGN_OR_RETURN(L.k_bias, ld.get_if(c.attention_bias, p + "self_attn.k_proj.bias", {KD}));
    SWAA_ASSIGN_OR_RETURN(L.v_bias, ld.get_if(c.attention_bias, p + "self_attn.v_proj.bias", {KD}));
    SWAA_ASSIGN_OR_RETURN(L.o_bias, ld.get_if(c.attention_out_bias, p + "self_attn.o_proj.bias", {H}));
    SWAA_ASSIGN_OR_RETURN(L.q_norm, ld.get_if(c.qk_norm, p + "self_attn.q_norm.weight", {D}));
    SWAA_ASSIGN_OR_RETURN(L.k_norm, ld.get_if(c.qk_norm, p + "self_attn.k_norm.weight", {D}));
    L.is_moe = c.is_moe_layer(l);
    if (!L.is_moe) {
      const int64_t I = c.intermediate_size;
      SWAA_ASSIGN_OR_RETURN(std::vector<Tensor> gate_up,
                            ld.get_stacked({p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"}, {{I, H}, {I, H}}));
      L.gate_proj = gate_up[0], L.up_proj = gate_up[1];
      SWAA_ASSIGN_OR_RETURN(L.down_proj, ld.get(p + "mlp.down_proj.weight", {H, I}));
      SWAA_ASSIGN_OR_RETURN(L.gate_bias, ld.get_if(c.mlp_bias, p + "mlp.gate_proj.bias", {I}));
      SWAA_ASSIGN_OR_RETURN(L.up_bias, ld.get_if(c.mlp_bias, p + "mlp.up_proj.bias", {I}));
      SWAA_ASSIGN_OR_RETURN(L.down_bias, ld.get_if(c.mlp_bias, p + "mlp.down_proj.bias", {H}));
      continue;
    }
    const int64_t E = c.num_experts, I = c.moe_intermediate_size;
    MoeWeights& m = L.moe;
    m.top_k = c.num_experts_per_tok;
    m.norm_topk_prob = c.norm_topk_prob;
    SWAA_ASSIGN_OR_RETURN(m.router, ld.get(p + "mlp.gate.weight", {E, H}));
    m.gate.resize(E);
    m.up.resize(E);
    m.down.resize(E);
    for (int64_t e = 0; e < E; ++e) {
      const std::string ep = p + "mlp.experts." + std::to_string(e) + ".";
      SWAA_ASSIGN_OR_RETURN(m.gate[e], ld.get(ep + "gate_proj.weight", {I, H}));
      SWAA_ASSIGN_OR_RETURN(m.up[e], ld.get(ep + "up_proj.weight", {I, H}));
      SWAA_ASSIGN_OR_RETURN(m.down[e], ld.get(ep + "down_proj.weight", {H, I}));
    }
  }
  return w;
}

}  // namespace swaa
