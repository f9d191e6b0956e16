// Naive fp64 reference of SWAA training attention (SWAA.md §4, §5): forward (out, log-sum-exp) and
// backward (dQ, dK, dV) over varlen batches with a prompt/answer split per sequence, as plain loops
// over the full score matrix with reference::visible (row t of a sequence is position t, a prompt row
// iff t < prompt_len). No tiling. Tests: tests/reference/attention_train_reference_test.cc.
#pragma once

#include <vector>

#include "swaa/swaa_config.h"

namespace swaa::reference {

// A varlen batch: sequence s owns tokens [cu_seqlens[s], cu_seqlens[s + 1]).
struct TrainBatch {
  std::vector<int> cu_seqlens;   // [num_seqs + 1]
  std::vector<int> prompt_lens;  // [num_seqs]; rows t >= prompt_len are answer (generated) rows
  int num_heads = 0;
  int num_kv_heads = 0;  // query head h reads KV head h / (num_heads / num_kv_heads)
  int head_dim = 0;
  double softmax_scale = 0;
  SwaaConfig swaa;  // the policy of layer `layer`
  int layer = 0;

  int num_seqs() const { return static_cast<int>(prompt_lens.size()); }
  int num_tokens() const { return cu_seqlens.back(); }
};

struct TrainForward {
  std::vector<double> out;  // [num_tokens, num_heads, head_dim]
  std::vector<double> lse;  // [num_heads, num_tokens], natural log
};

struct TrainGrads {
  std::vector<double> dq;  // [num_tokens, num_heads, head_dim]
  std::vector<double> dk;  // [num_tokens, num_kv_heads, head_dim], summed over the head group
  std::vector<double> dv;  // [num_tokens, num_kv_heads, head_dim]
};

// q [num_tokens, num_heads, head_dim], k and v [num_tokens, num_kv_heads, head_dim].
TrainForward train_attention_forward(const TrainBatch& b, const std::vector<double>& q,
                                     const std::vector<double>& k, const std::vector<double>& v);

// Gradients of sum(out * dout) with respect to q, k, v (dout shaped like out).
TrainGrads train_attention_backward(const TrainBatch& b, const std::vector<double>& q, const std::vector<double>& k,
                                    const std::vector<double>& v, const std::vector<double>& dout);

}  // namespace swaa::reference
