// Top-k expert routing (see moe_routing.h).
#include "backend/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace swaa {

std::vector<std::vector<std::pair<int, float>>> route_top_k(const float* logits, int64_t n, int64_t num_experts,
                                                            int top_k, bool norm_topk_prob) {
  std::vector<std::vector<std::pair<int, float>>> routed(num_experts);
  std::vector<float> prob(num_experts);
  std::vector<int> order(num_experts);
  for (int64_t t = 0; t < n; ++t) {
    const float* row = logits + t * num_experts;
    const float mx = *std::max_element(row, row + num_experts);
    float sum = 0;
    for (int64_t e = 0; e < num_experts; ++e) sum += (prob[e] = std::exp(row[e] - mx));
    for (float& p : prob) p /= sum;
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top_k, order.end(),
                      [&](int a, int b) { return prob[a] > prob[b] || (prob[a] == prob[b] && a < b); });
    float top_sum = 0;
    for (int k = 0; k < top_k; ++k) top_sum += prob[order[k]];
    for (int k = 0; k < top_k; ++k) {
      routed[order[k]].push_back({static_cast<int>(t), norm_topk_prob ? prob[order[k]] / top_sum : prob[order[k]]});
    }
  }
  return routed;
}

}  // namespace swaa
