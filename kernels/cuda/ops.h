// Host launchers of the CUDA backend's non-attention kernels (bf16 activations, fp32 math):
// embedding, RMSNorm, bias add, residual add, RoPE, SwiGLU, KV-cache writes, row gather, casts,
// and a plain SWAA attention for head dims the tiled kernels do not cover. No CUDA types leak:
// streams are void*. Every launcher returns "" or a CUDA error message.
// Tests: tests/e2e/cuda_e2e_test.cc (label cuda), against the CPU backend.
#pragma once

#include <cstdint>
#include <string>

#include "swaa_attention.h"

namespace swaa::cuda {

// out[i, :] = table[ids[i], :]                              table [V, H] bf16, out [n, H] bf16
std::string embedding(const void* table, const int32_t* ids, int n, int hidden, void* out, void* stream);
// RMSNorm over rows of width d: out = w * x / sqrt(mean(x^2) + eps)   x, out [rows, d], w [d] bf16
std::string rms_norm(const void* x, const void* w, int rows, int d, float eps, void* out, void* stream);
// out[j, :] = x[j, :] @ w^T for j < n (gemv.cu): x [n, k] bf16, w [m, k] bf16, out [n, m] bf16 or
// fp32 (out_f32), fp32 accumulation. For decode steps (n <= kGemvMaxRows): reads w once at HBM
// speed. gemv_supported says whether the shape and alignment qualify (k % 8 == 0, 16-byte rows).
inline constexpr int kGemvMaxRows = 8;
bool gemv_supported(const void* x, const void* w, int n, int k);
std::string gemv(const void* x, const void* w, int n, int k, int m, void* out, bool out_f32, void* stream);
// Up to kGemvMaxMatrices of one input in one launch (a layer's q, k, v): outs[i].out [n, outs[i].m] =
// x @ outs[i].w^T + outs[i].bias (bias [m] bf16 or null; bf16 outputs round before the bias is
// added, as add_bias). Every w must satisfy gemv_supported.
inline constexpr int kGemvMaxMatrices = 3;
struct GemvOutput {
  const void* w;
  const void* bias;
  void* out;
  int m;
};
std::string gemv_many(const void* x, int n, int k, const GemvOutput* outs, int count, bool out_f32, void* stream);
// out [n, m] = silu(x @ gate_w^T + gate_bias) * (x @ up_w^T + up_bias), bf16, with the roundings of
// gemv, add_bias and silu_mul in sequence (the same bits); biases may be null.
std::string gemv_swiglu(const void* x, int n, int k, int m, const void* gate_w, const void* gate_bias,
                        const void* up_w, const void* up_bias, void* out, void* stream);
// Mixture-of-experts FFN of a decode step on the device (moe_gemv.cu), no host round trip:
// moe_route: router logits [n, E] fp32 -> ids [n, top_k] and weights [n, top_k] fp32 as
// route_top_k on the host (softmax in fp32, top_k by probability, ties to the lower id,
// renormalised when norm_topk_prob). E <= kMoeMaxExperts, top_k <= min(E, 32).
// moe_experts: out [n, hidden] bf16 = sum_s weights[t, s] * down[e](silu(gate[e] x) * up[e] x) with
// e = ids[t, s]; gate, up, down are device arrays of E pointers to [inter, hidden], [inter, hidden]
// and [hidden, inter] bf16 matrices; h is scratch [n * top_k, inter] bf16. Every expert output is
// rounded to bf16 before the weighted sum (fp32, slot order), as the host-routed path rounds it.
// top_k <= kMoeMaxSlots; hidden and inter multiples of 8, 16-byte aligned rows.
inline constexpr int kMoeMaxExperts = 1024;
inline constexpr int kMoeMaxSlots = 8;
std::string moe_route(const float* logits, int n, int num_experts, int top_k, bool norm_topk_prob, int* ids,
                      float* weights, void* stream);
std::string moe_experts(const void* x, int n, int top_k, int hidden, int inter, const int* ids, const float* weights,
                        const void* const* gate, const void* const* up, const void* const* down, void* h, void* out,
                        void* stream);
// x[r, c] += bias[c]                                        x [rows, cols] bf16 or fp32 (x_f32)
std::string add_bias(void* x, bool x_f32, const void* bias, int rows, int cols, void* stream);
// x += y (bf16, n elements)
std::string add_inplace(void* x, const void* y, int64_t n, void* stream);
// Rotate-half RoPE in place: x [n, heads, d]; angle = positions[t] * inv_freq[i] (fp32 inv_freq on
// device, d/2 values), cos/sin multiplied by `scaling`.
std::string rope(void* x, const int* positions, const float* inv_freq, int n, int heads, int d, float scaling,
                 void* stream);
// x += y, then out = RMSNorm(x) * w over rows of width d (x, y, out [rows, d], w [d] bf16): the
// residual add fused with the next norm, same roundings as add_inplace then rms_norm (ops_fused.cu).
std::string add_rms_norm(void* x, const void* y, const void* w, int rows, int d, float eps, void* out, void* stream);
// A layer's attention inputs in one pass (ops_fused.cu), per token t: RMSNorm of each q and k head
// (weights [d] bf16; null = no norm), rotate-half RoPE at positions[t] as rope(), q rewritten in
// place, the normed and rotated k and the unchanged v written to the caches at slots[t].
// q [n, heads, d], k and v [n, kv_heads, d] bf16; d one of 64, 128, 192, 256 (other head dims take
// the unfused ops).
inline bool qk_norm_rope_kv_write_supported(int d) { return d % 64 == 0 && d <= 256; }
std::string qk_norm_rope_kv_write(void* q, const void* k, const void* v, const void* q_norm, const void* k_norm,
                                  float eps, const int* positions, const float* inv_freq, float scaling,
                                  const int* slots, int n, int heads, int kv_heads, int d, void* k_cache,
                                  void* v_cache, void* stream);
// out = silu(gate) * up (bf16, n elements; out may alias gate)
std::string silu_mul(const void* gate, const void* up, void* out, int64_t n, void* stream);
// out[r][j] = silu_mul of gate_up[r][j] and gate_up[r][cols + j] (bf16, rows x 2 cols in, rows x
// cols out): the SwiGLU of one GEMM over stacked gate and up weights; cols a multiple of 8.
std::string silu_mul_stacked(const void* gate_up, void* out, int rows, int cols, void* stream);
// Columns [begin_i, begin_i + cols_i) of src (bf16, rows x src_cols) to dst_i (rows x cols_i),
// the outputs' column ranges one after the other from 0: the projections of one GEMM over stacked
// weights (q/k/v). Every width a multiple of 8 and every pointer 16-byte aligned.
struct ColumnSplit {
  void* dst;
  int cols;
};
inline constexpr int kMaxColumnSplits = 4;
std::string split_columns(const void* src, int rows, int src_cols, const ColumnSplit* outs, int num_outs,
                          void* stream);
// cache[slots[t], :] = x[t, :] for K and V; rows of `row` bf16 elements.
std::string kv_write(const void* k, const void* v, const int* slots, int n, int row, void* k_cache, void* v_cache,
                     void* stream);
// out[i, :] = x[rows[i], :]                                 bf16 or fp32 rows of `cols` elements
std::string gather_rows(const void* x, bool f32, const int* rows, int n, int cols, void* out, void* stream);
// out[t, :] = bf16(sum over j < k of weights[t * k + j] * y[pos[t * k + j], :]), summed in fp32 in
// slot order (slots with pos < 0 skipped): the MoE combine of a prompt chunk whose (token, expert)
// pairs were grouped by expert into y.
std::string moe_combine(const void* y, const int* pos, const float* weights, int n, int k, int hidden, void* out,
                        void* stream);
// out[r] = the first index of the maximum of row r of the fp32 matrix x [rows, cols] (greedy
// sampling: what std::max_element picks); NaN counts as -inf, a row of only NaN gives 0.
std::string argmax_rows(const float* x, int rows, int cols, int32_t* out, void* stream);
// out[r] = the token drawn from row r of x [rows, cols] fp32 by draws[r] (device memory), the rule
// of TokenDraw (src/sampling/token_draw.h) without sorting the row (draw_tokens.cu): temperature,
// top-k, top-p, min-p, then the token at uniform x the kept mass in rank order (logit descending,
// ties by id). Weights in fp32 and masses as integers (w x 2^44), so the draw is deterministic and
// equals the host's double-precision draw except within ~1e-6 of a boundary. Greedy rows
// (temperature 0 or top_k 1) take the argmax. `num_sms` sizes the clusters (up to 8 CTAs a row).
struct DrawRow {
  float temperature, top_p, min_p;
  int top_k;
  double uniform;
};
inline constexpr int kMaxDrawCols = 1 << 19;
std::string draw_rows(const float* x, int rows, int cols, const DrawRow* draws, int32_t* out, int num_sms,
                      void* stream);
// x[row][token] = (x > 0 ? x / repetition : x * repetition) - subtract for each of the n edits
// (device memory; at most one per (row, token)), each operation rounded on its own: the sampling
// penalties (LogitEdit in src/sampling/token_draw.h, which this struct mirrors), bit for bit the host's.
struct LogitEdit {
  int32_t row, token;
  float repetition, subtract;
};
std::string apply_logit_edits(float* x, int64_t cols, const LogitEdit* edits, int n, void* stream);
// The raw log-probabilities of drawn tokens (row_logprobs.cu; compute_logprobs' rule in
// src/sampling/logprobs.h): for each of the n rows of x [n, cols] fp32 (device memory), out[i] =
// its log normaliser max + log(sum exp(x - max)) (fp32 exponentials summed in fp64), x[i][token]
// for token = tokens[rows[i]], and its num_top best entries (logit descending, ties by id; NaN
// never ranks). log p = logit - log_norm. `workspace`: row_logprobs_workspace_bytes(n, cols) of
// device memory.
inline constexpr int kMaxTopLogprobs = 20;
struct RowLogprobs {
  double log_norm;
  float token_logit;
  int32_t num_top;
  int32_t top_id[kMaxTopLogprobs];
  float top_logit[kMaxTopLogprobs];
};
size_t row_logprobs_workspace_bytes(int n, int cols);
std::string row_logprobs(const float* x, int n, int cols, const int* rows, const int32_t* tokens, int num_top,
                         void* workspace, RowLogprobs* out, void* stream);
// Plain SWAA attention (one CTA per token and head, online softmax over the visible keys), for any
// head_dim <= 256; same params as the tiled kernels (num_splits/workspace unused).
std::string attention_simple(const AttentionParams& p, void* stream);

}  // namespace swaa::cuda
