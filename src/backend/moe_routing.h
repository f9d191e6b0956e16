// Qwen3-MoE routing on the host, shared by every backend: softmax over the router logits (fp32),
// the top-k experts per token (ties to the lower id), weights renormalised when norm_topk_prob.
// Tests: exercised through tests/e2e (qwen3_moe fixtures) on CPU and CUDA.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace swaa {

// logits [n, num_experts] row-major -> per expert, the (token, weight) pairs routed to it.
std::vector<std::vector<std::pair<int, float>>> route_top_k(const float* logits, int64_t n, int64_t num_experts,
                                                            int top_k, bool norm_topk_prob);

}  // namespace swaa
