// CPU mixture-of-experts FFN (Qwen3-MoE): router softmax in fp32, top-k experts per token
// (renormalised when norm_topk_prob), each expert a SwiGLU MLP run as one GEMM over its tokens.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/moe_routing.h"
#include "core/check.h"

namespace swaa {

void CpuBackend::moe(const Tensor& x, const MoeWeights& w, Tensor& out) {
  const int64_t n = x.dim(0), hidden = x.dim(1);
  const int64_t num_experts = w.router.dim(0);
  Tensor logits = alloc({n, num_experts}).value();
  linear(x, w.router, nullptr, logits);

  const auto routed = route_top_k(logits.data_as<float>(), n, num_experts, w.top_k, w.norm_topk_prob);
  float* o = out.data_as<float>();
  std::fill(o, o + n * hidden, 0.0f);
  const float* xs = x.data_as<float>();
  for (int64_t e = 0; e < num_experts; ++e) {
    const auto& tokens = routed[e];
    if (tokens.empty()) continue;
    const int64_t m = static_cast<int64_t>(tokens.size());
    const int64_t inter = w.gate[e].dim(0);
    Tensor xe = alloc({m, hidden}).value();
    for (int64_t i = 0; i < m; ++i) {
      std::copy(xs + tokens[i].first * hidden, xs + (tokens[i].first + 1) * hidden, xe.data_as<float>() + i * hidden);
    }
    Tensor g = alloc({m, inter}).value(), u = alloc({m, inter}).value(), y = alloc({m, hidden}).value();
    linear(xe, w.gate[e], nullptr, g);
    linear(xe, w.up[e], nullptr, u);
    silu_mul(g, u, g);
    linear(g, w.down[e], nullptr, y);
    for (int64_t i = 0; i < m; ++i) {
      float* orow = o + tokens[i].first * hidden;
      const float* yrow = y.data_as<float>() + i * hidden;
      for (int64_t c = 0; c < hidden; ++c) orow[c] += tokens[i].second * yrow[c];
    }
  }
}

}  // namespace swaa
