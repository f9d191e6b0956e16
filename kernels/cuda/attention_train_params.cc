// Host-side validation of TrainAttentionParams, run once by each training-attention launcher so the
// kernels can trust the struct (STYLE.md). Device arrays (cu_seqlens, prompt_lens) are the caller's
// contract. Tests: tests/kernels/attention_train_test.cc (ParamsValidation).
#include <cmath>
#include <cstdint>
#include <string>

#include "swaa_attention_train.h"

namespace swaa::cuda {

std::string validate_train_attention_params(const TrainAttentionParams& p, bool backward) {
  auto bad = [](const char* name, long long v, const char* want) {
    return std::string(name) + " must be " + want + ", got " + std::to_string(v);
  };
  if (p.num_tokens < 0) return bad("num_tokens", p.num_tokens, ">= 0");
  if (p.num_seqs < 1 || p.num_seqs > 65535) return bad("num_seqs", p.num_seqs, "in [1, 65535]");
  if (p.max_seqlen < 0 || (p.num_tokens > 0 && p.max_seqlen < 1)) {
    return bad("max_seqlen", p.max_seqlen, ">= 1 (>= every sequence's length)");
  }
  if (p.head_dim != 64 && p.head_dim != 128) return bad("head_dim", p.head_dim, "64 or 128");
  if (p.num_kv_heads < 1) return bad("num_kv_heads", p.num_kv_heads, ">= 1");
  if (p.num_heads < 1 || p.num_heads > 65535 || p.num_heads % p.num_kv_heads != 0) {
    return bad("num_heads", p.num_heads, "a multiple of num_kv_heads in [1, 65535]");
  }
  if (p.num_kv_heads > 65535) return bad("num_kv_heads", p.num_kv_heads, "<= 65535");
  if (p.sliding && p.window < 1) return bad("window", p.window, ">= 1 on a sliding layer");
  if (p.keep_first < 0) return bad("keep_first", p.keep_first, ">= 0");
  if (p.sink_splits < 0 || p.sink_splits > 32) return bad("sink_splits", p.sink_splits, "in [0, 32] (1 = no split, 0 = automatic)");
  if (!(p.softmax_scale > 0.f) || !std::isfinite(p.softmax_scale)) {
    return "softmax_scale must be a finite positive number, got " + std::to_string(p.softmax_scale);
  }
  if (p.num_tokens == 0) return "";
  struct Ptr {
    const char* name;
    const void* ptr;
    unsigned align;  // bytes
  };
  const Ptr ptrs[] = {{"q", p.q, 16},          {"k", p.k, 16},
                      {"v", p.v, 16},          {"out", p.out, 16},
                      {"lse", p.lse, 4},       {"cu_seqlens", p.cu_seqlens, 4},
                      {"prompt_lens", p.prompt_lens, 4}, {"dout", p.dout, 16},
                      {"dq", p.dq, 16},        {"dk", p.dk, 16},
                      {"dv", p.dv, 16}};
  const int count = backward ? 11 : 7;
  for (int i = 0; i < count; ++i) {
    if (ptrs[i].ptr == nullptr) return std::string(ptrs[i].name) + " is null";
    if (reinterpret_cast<uintptr_t>(ptrs[i].ptr) % ptrs[i].align != 0) {
      return std::string(ptrs[i].name) + " must be " + std::to_string(ptrs[i].align) + "-byte aligned";
    }
  }
  return "";
}

}  // namespace swaa::cuda
