// The ABI of the SWAA training attention (forward with log-sum-exp, FlashAttention-2 backward) over
// contiguous varlen q/k/v, as one plain params struct plus host launchers; no CUDA types leak out.
// Mask: ../../../shared/SWAA.md §2 with the training split of §4 (row t of a sequence is a prompt row
// iff t < prompt_len, else an answer row under the generated-token rule). Tile ranges:
// attention_train_tiles.h. Tests: tests/kernels/attention_train_test.cc (GPU, label cuda),
// tests/kernels/attention_train_tiles_test.cc and tests/reference/attention_train_reference_test.cc (CPU).
#pragma once

#include <cstddef>
#include <string>

namespace swaa::cuda {

// All pointers are device pointers, 16-byte aligned. Sequences lie back to back: sequence s owns
// tokens [cu_seqlens[s], cu_seqlens[s + 1]); its local row t is position t (training sees whole
// sequences, so query and key positions coincide).
struct TrainAttentionParams {
  const void* q = nullptr;  // [num_tokens, num_heads, head_dim] bf16
  const void* k = nullptr;  // [num_tokens, num_kv_heads, head_dim] bf16
  const void* v = nullptr;  // [num_tokens, num_kv_heads, head_dim] bf16
  void* out = nullptr;      // [num_tokens, num_heads, head_dim] bf16: written by forward, read by backward
  float* lse = nullptr;     // [num_heads, num_tokens] fp32, natural log: written by forward, read by backward

  // Backward only (null for the forward).
  const void* dout = nullptr;  // [num_tokens, num_heads, head_dim] bf16
  void* dq = nullptr;          // [num_tokens, num_heads, head_dim] bf16; every element written
  void* dk = nullptr;          // [num_tokens, num_kv_heads, head_dim] bf16; summed over the head group
  void* dv = nullptr;          // [num_tokens, num_kv_heads, head_dim] bf16; summed over the head group

  const int* cu_seqlens = nullptr;   // [num_seqs + 1], cu_seqlens[0] = 0, non-decreasing
  const int* prompt_lens = nullptr;  // [num_seqs]; any value, used as clamp(P, 0, seqlen)

  int num_seqs = 0;
  int num_tokens = 0;  // cu_seqlens[num_seqs]
  int max_seqlen = 0;  // >= every sequence's length (sizes the grids)
  int num_heads = 0;
  int num_kv_heads = 0;  // divides num_heads; query head h reads KV head h / (num_heads / num_kv_heads)
  int head_dim = 0;      // 64 or 128

  // Layer policy, exactly as AttentionParams / swaa::LayerPolicy: a row t sees keys j <= t, and when
  // the layer is sliding and the row is not (an answer row with fa_decode), only j > t - window or
  // j < keep_first.
  bool sliding = false;
  int window = 0;      // W >= 1 when sliding
  int keep_first = 0;  // S >= 0
  bool fa_decode = false;

  float softmax_scale = 0.f;  // usually 1/sqrt(head_dim)

  // Backward only: CTAs sharing the walk of each key tile that holds sinks (train_sink_split in
  // attention_train_tiles.h). 0 = automatic (default: about one window walk per CTA; 1.5x faster
  // fwd+bwd at 1 x 32k, W 2048, S 100 on the H200); 1 = none; n > 1 = n. Split tiles accumulate
  // dK/dV in fp32 in the workspace (train_backward_workspace_bytes grows accordingly).
  int sink_splits = 0;
};

// Checks the host-side fields (sizes, supported head dims, null or misaligned pointers; backward
// pointers too when `backward`). Returns "" when launchable, else a message naming the bad field.
// Device arrays (cu_seqlens, prompt_lens) are the caller's contract. The launchers call it.
std::string validate_train_attention_params(const TrainAttentionParams& p, bool backward);

// Forward: writes out and lse. One CTA per (128-row query tile, query head, sequence) walks only the
// key tiles of the union of its rows' sinks and windows. Returns "" or an error message.
std::string attention_train_forward(const TrainAttentionParams& p, void* stream);

// Backward (FlashAttention-2): D = rowsum(dO * O), then one CTA per (64-key tile, KV head, sequence)
// walks only the query tiles that see its keys, for every query head of the group, accumulating dK
// and dV in registers and dQ in fp32 with atomics into the workspace, then dQ -> bf16. Needs
// out and lse from attention_train_forward on the same inputs. Workspace: at least
// train_backward_workspace_bytes(p) bytes of device memory, not shared with a concurrent launch.
std::string attention_train_backward(const TrainAttentionParams& p, void* workspace, void* stream);

// fp32 dQ accumulator [num_tokens, num_heads, head_dim] + D [num_heads, num_tokens] + (with sink
// splits) fp32 dK and dV of the split tiles [num_seqs, sink_tiles * 64, num_kv_heads, head_dim],
// each 256-byte aligned.
size_t train_backward_workspace_bytes(const TrainAttentionParams& p);

}  // namespace swaa::cuda
