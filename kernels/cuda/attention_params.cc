// Host-side validation of AttentionParams, run once by each attention launcher so the kernels can
// trust the struct (STYLE.md). Device arrays (positions, block tables) are the caller's contract.
// Tests: tests/kernels/attention_kernel_test.cc (ParamsValidation).
#include <cmath>
#include <string>

#include "swaa_attention.h"

namespace swaa::cuda {

std::string validate_attention_params(const AttentionParams& p) {
  auto bad = [](const char* name, long long v, const char* want) {
    return std::string(name) + " must be " + want + ", got " + std::to_string(v);
  };
  if (p.num_tokens < 0) return bad("num_tokens", p.num_tokens, ">= 0");
  if (p.num_seqs < 1 || p.num_seqs > 65535) return bad("num_seqs", p.num_seqs, "in [1, 65535]");
  if (p.head_dim != 64 && p.head_dim != 128) return bad("head_dim", p.head_dim, "64 or 128");
  if (p.num_kv_heads < 1) return bad("num_kv_heads", p.num_kv_heads, ">= 1");
  if (p.num_heads < 1 || p.num_heads > 65535 || p.num_heads % p.num_kv_heads != 0) {
    return bad("num_heads", p.num_heads, "a multiple of num_kv_heads in [1, 65535]");
  }
  if (p.block_size < 1) return bad("block_size", p.block_size, ">= 1");
  if (p.max_blocks < 1) return bad("max_blocks", p.max_blocks, ">= 1");
  if (p.num_slots < 0) return bad("num_slots", p.num_slots, ">= 0");
  if (p.max_seqlen_q < 0) return bad("max_seqlen_q", p.max_seqlen_q, ">= 0");
  if (p.max_seqlen_k < 0) return bad("max_seqlen_k", p.max_seqlen_k, ">= 0");
  if (p.sliding && p.window < 1) return bad("window", p.window, ">= 1 on a sliding layer");
  if (p.keep_first < 0) return bad("keep_first", p.keep_first, ">= 0");
  if (!(p.softmax_scale > 0.f) || !std::isfinite(p.softmax_scale)) {
    return "softmax_scale must be a finite positive number, got " + std::to_string(p.softmax_scale);
  }
  if (p.num_tokens > 0) {
    const void* ptrs[] = {p.q, p.out, p.k_cache, p.v_cache, p.cu_seqlens_q, p.positions, p.generated, p.seqlen_k,
                          p.block_table};
    const char* names[] = {"q", "out", "k_cache", "v_cache", "cu_seqlens_q", "positions", "generated", "seqlen_k",
                           "block_table"};
    for (int i = 0; i < 9; ++i) {
      if (ptrs[i] == nullptr) return std::string(names[i]) + " is null";
    }
  }
  return "";
}

}  // namespace swaa::cuda
