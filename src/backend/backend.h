// Backend: the op interface the model's forward pass calls (DESIGN.md §1). cpu/ and cuda/
// implement it. Activations are [num_tokens, features] row-major; every op writes to a
// caller-provided output. Host-side batch metadata (positions, phases, block tables) comes as an
// AttentionLayout; a device backend uploads it once per step in `begin_step`.
// Tests: tests/unit/backend/ (each op against tests/reference/).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attention/attention_layout.h"
#include "attention/layer_policy.h"
#include "backend/tensor.h"
#include "io/safetensors.h"
#include "sampling/token_draw.h"
#include "swaa/status.h"

namespace swaa {

// One output of Backend::linears: *out = x @ w^T + bias (bias may be null).
struct Projection {
  const Tensor* w;
  const Tensor* bias;
  Tensor* out;
};

// Experts of one MoE layer: per-expert projections ([I, H], [I, H], [H, I]).
struct MoeWeights {
  Tensor router;  // [E, H]
  std::vector<Tensor> gate, up, down;
  int top_k = 0;
  bool norm_topk_prob = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Compute dtype of activations and KV cache on this backend.
  virtual DType compute_dtype() const = 0;

  // A zeroed tensor in the compute dtype, or in `dtype` where the backend supports it (fp32 logits
  // on a bf16 backend); the CPU backend computes everything in fp32.
  virtual Result<Tensor> alloc(const std::vector<int64_t>& shape) = 0;
  virtual Result<Tensor> alloc(const std::vector<int64_t>& shape, DType dtype) = 0;
  // An uninitialised tensor, for activations the next op overwrites entirely (no zeroing pass).
  virtual Result<Tensor> scratch(const std::vector<int64_t>& shape, DType dtype) { return alloc(shape, dtype); }
  // Copies a checkpoint tensor into backend memory in the compute dtype.
  virtual Result<Tensor> upload(const TensorView& weight) = 0;
  // Copies `t` to host as fp32 (rows [row_begin, row_end) of a 2-D tensor).
  virtual void to_host_f32(const Tensor& t, int64_t row_begin, int64_t row_end, float* dst) = 0;
  // Token r = the token draws.rows[r] draws from row r of the fp32 2-D tensor `t` (TokenDraw's
  // rule) once draws.edits (penalties, LogitEdit's rule) are applied to it, for its first
  // draws.rows.size() rows, with the log-probabilities of the unedited row where a draw asks; `t`
  // may be left edited. The default copies the rows to the host and draws there (draw_tokens); a
  // backend that draws on its device (draws_on_device) copies back 4 bytes a row, and the
  // logprobs' few values.
  virtual DrawnTokens draw_rows_f32(Tensor& t, const StepDraws& draws);
  // Whether draw_rows_f32 saves the logits' copy for sampled rows too (it always does for greedy
  // rows' argmax on a device backend).
  virtual bool draws_on_device() const { return false; }

  // Per-step metadata for attention and KV writes.
  virtual void begin_step(const AttentionLayout& layout) = 0;

  // Step recording (CUDA graphs for decode steps). Model::forward brackets each step:
  //   begin_step(layout); replay_step(ids, logit_rows, draws); <ops>; end_step();
  //   to_host_f32(logits) or (draws) draw_rows_f32(logits, *draws)
  // replay_step returns the step's result when the backend replayed a recorded step of the same
  // shape: the logits ([rows, vocab] fp32), or with `draws` each row's drawn token (and logprobs) only. The caller then
  // runs nothing else for this step. Otherwise the backend may record the ops that follow; end_step
  // returns false when that recording failed, in which case the ops did not run, recording is
  // switched off, and the caller runs the step again.
  struct StepResult {
    std::vector<float> logits;  // [rows, vocab], empty with draws
    DrawnTokens drawn;          // [rows] with draws
  };
  virtual std::optional<StepResult> replay_step(const std::vector<int32_t>& /*ids*/,
                                                const std::vector<int>& /*logit_rows*/,
                                                const StepDraws* /*draws*/) {
    return std::nullopt;
  }
  virtual bool end_step() { return true; }
  // Allows or forbids step recording.
  virtual void enable_step_graphs(bool /*on*/) {}
  // The model's MoE layers, once after loading (none: not called). A backend that records steps
  // keeps recording only if it routes these layers on the device (no host round trip in a step).
  virtual void set_moe_layers(const std::vector<const MoeWeights*>& layers) {
    if (!layers.empty()) enable_step_graphs(false);
  }

  // out[i] = table[ids[i]]                        table [V, H], out [n, H]
  virtual void embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) = 0;
  // RMSNorm over the last dim of size weight.numel(): x viewed as [rows, d]
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  // out = x @ w^T + bias                          x [n, in], w [out, in], out [n, out]
  virtual void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) = 0;
  // out[i] = x[rows[i]]                          x [n, F], out [rows.size(), F]
  virtual void gather_rows(const Tensor& x, const std::vector<int>& rows, Tensor& out) = 0;
  // x += y
  virtual void add_inplace(Tensor& x, const Tensor& y) = 0;
  // Rotary embedding (rotate-half convention) at the step's token positions, in place.
  // x [n, heads, head_dim]; inv_freq [head_dim/2] fp32; cos/sin multiplied by `scaling`.
  virtual void rope(Tensor& x, const std::vector<float>& inv_freq, double scaling) = 0;
  // Fused forms with the same result as the sequence they replace (backends with fused kernels
  // override them): x += y, then out = RMSNorm(x) * w.
  virtual void add_rms_norm(Tensor& x, const Tensor& y, const Tensor& w, float eps, Tensor& out) {
    add_inplace(x, y);
    rms_norm(x, w, eps, out);
  }
  // A layer's attention inputs: per-head RMSNorm of q and k (q_norm/k_norm [head_dim], null = none),
  // RoPE of both, then k and v written to the cache of `group`. q and k are updated in place
  // (k's contents afterwards are unspecified: the cache holds the rotated keys).
  virtual void attention_inputs(Tensor& q, Tensor& k, const Tensor& v, const Tensor* q_norm, const Tensor* k_norm,
                                float eps, const std::vector<float>& inv_freq, double scaling, KvGroup group,
                                Tensor& k_cache, Tensor& v_cache) {
    if (q_norm != nullptr) rms_norm(q, *q_norm, eps, q);
    if (k_norm != nullptr) rms_norm(k, *k_norm, eps, k);
    rope(q, inv_freq, scaling);
    rope(k, inv_freq, scaling);
    kv_write(k, v, group, k_cache, v_cache);
  }
  // out = silu(gate) * up                          gate, up, out [n, I]
  virtual void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) = 0;
  // Several projections of one input (a layer's q, k and v), in one launch where the backend can.
  virtual void linears(const Tensor& x, std::span<const Projection> outputs) {
    for (const Projection& p : outputs) linear(x, *p.w, p.bias, *p.out);
  }
  // out = silu(x @ gate_w^T + gate_bias) * (x @ up_w^T + up_bias)      out, up [n, I]
  // `up` is the scratch the unfused sequence (linear, linear, silu_mul) writes; a fused backend
  // may leave it untouched. Same roundings as that sequence.
  virtual void swiglu_linear(const Tensor& x, const Tensor& gate_w, const Tensor* gate_bias, const Tensor& up_w,
                             const Tensor* up_bias, Tensor& out, Tensor& up) {
    linear(x, gate_w, gate_bias, out);
    linear(x, up_w, up_bias, up);
    silu_mul(out, up, out);
  }
  // Writes this step's keys/values into the cache at the layout's slots of `group`.
  // k, v [n, kv_heads, head_dim]; caches [num_blocks * block_size, kv_heads, head_dim]
  virtual void kv_write(const Tensor& k, const Tensor& v, KvGroup group, Tensor& k_cache, Tensor& v_cache) = 0;
  // SWAA attention (SWAA.md §2) of this step's queries over the paged cache of `group`.
  // q [n, heads, head_dim]; out [n, heads, head_dim]; scale = 1/sqrt(head_dim)
  virtual void attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, KvGroup group,
                         const LayerPolicy& policy, float scale, Tensor& out) = 0;
  // Mixture-of-experts FFN: softmax router, top-k (optionally renormalised), SwiGLU experts.
  // x [n, H], out [n, H]
  virtual void moe(const Tensor& x, const MoeWeights& w, Tensor& out) = 0;
};

Result<std::unique_ptr<Backend>> make_cpu_backend(int num_threads);
// "cpu", "cuda" or "cuda:N"; CUDA only in builds with SWAA_CUDA (src/engine/backend_factory.cc).
Result<std::unique_ptr<Backend>> make_backend(const std::string& device, int num_threads);

}  // namespace swaa
