// The device MoE path of decode steps (kernels/cuda/moe_gemv.cu, label cuda): moe_route against
// the host's route_top_k (the ids exactly, including tied logits; the weights within fp32
// rounding), and moe_experts against an fp64 loop over the same bf16 inputs and routes, with
// tokens sharing experts, top_k 1/2/8 and features split over warps.
// moe_combine (the combine of prompt chunks, whose pairs are grouped by expert) against fp64.
// Tolerance of moe_experts: each expert output goes through ~4 bf16 roundings (gate, up, silu,
// product) before the down projection and one after it; 2^-6 of the sum of |terms| covers them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "backend/moe_routing.h"
#include "kernel_test_util.h"
#include "ops.h"

namespace swaa {
namespace {

using kernel_test::DeviceBuffer;

TEST(MoeKernels, RouteMatchesHostRouting) {
  if (!kernel_test::have_gpu()) GTEST_SKIP() << "no GPU";
  std::mt19937 rng(7);
  for (int E : {8, 128}) {
    for (int k : {1, 2, 8}) {
      for (bool norm : {false, true}) {
        const int n = 6;
        std::vector<float> logits(static_cast<size_t>(n) * E);
        for (int t = 0; t < n; ++t) {
          std::vector<int> perm(E);
          for (int e = 0; e < E; ++e) perm[e] = e;
          std::shuffle(perm.begin(), perm.end(), rng);
          for (int e = 0; e < E; ++e) logits[static_cast<size_t>(t) * E + e] = 0.07f * perm[e] - 2.f + 0.3f * t;
        }
        for (int e = 0; e < E; ++e) logits[static_cast<size_t>(4) * E + e] = 0.5f;  // every expert tied
        for (int e = 0; e < E; e += 2) logits[static_cast<size_t>(5) * E + e] = 1.25f;  // pairs of ties
        DeviceBuffer<float> dlogits(logits), dweights(static_cast<size_t>(n) * k);
        DeviceBuffer<int> dids(static_cast<size_t>(n) * k);
        ASSERT_EQ(cuda::moe_route(dlogits.ptr, n, E, k, norm, dids.ptr, dweights.ptr, nullptr), "");
        const auto ids = dids.download();
        const auto weights = dweights.download();
        const auto routed = route_top_k(logits.data(), n, E, k, norm);
        // Host result per token, in the host's order (by expert id within each token's k).
        std::vector<std::vector<std::pair<int, float>>> per_token(n);
        for (int e = 0; e < E; ++e) {
          for (const auto& [t, w] : routed[e]) per_token[t].push_back({e, w});
        }
        for (int t = 0; t < n; ++t) {
          std::vector<std::pair<int, float>> got;
          for (int s = 0; s < k; ++s) got.push_back({ids[t * k + s], weights[t * k + s]});
          std::sort(got.begin(), got.end());
          ASSERT_EQ(got.size(), per_token[t].size());
          for (int s = 0; s < k; ++s) {
            EXPECT_EQ(got[s].first, per_token[t][s].first) << "E " << E << " k " << k << " token " << t;
            EXPECT_NEAR(got[s].second, per_token[t][s].second, 2e-6 + 1e-5 * per_token[t][s].second)
                << "E " << E << " k " << k << " token " << t << " expert " << got[s].first;
          }
        }
      }
    }
  }
  EXPECT_NE(cuda::moe_route(nullptr, 1, 4, 5, false, nullptr, nullptr, nullptr), "");  // top_k > experts
}

TEST(MoeKernels, ExpertsMatchFp64) {
  if (!kernel_test::have_gpu()) GTEST_SKIP() << "no GPU";
  std::mt19937 rng(8);
  std::normal_distribution<float> normal;
  const int E = 6, hidden = 264, inter = 104;
  std::vector<std::vector<uint16_t>> gate(E), up(E), down(E);
  std::vector<std::unique_ptr<DeviceBuffer<uint16_t>>> dev;
  std::vector<const void*> table(3 * E);
  for (int e = 0; e < E; ++e) {
    for (auto* m : {&gate[e], &up[e]}) {
      m->resize(static_cast<size_t>(inter) * hidden);
      for (auto& v : *m) v = f32_to_bf16(0.08f * normal(rng));
    }
    down[e].resize(static_cast<size_t>(hidden) * inter);
    for (auto& v : down[e]) v = f32_to_bf16(0.1f * normal(rng));
    for (int i = 0; i < 3; ++i) {
      dev.push_back(std::make_unique<DeviceBuffer<uint16_t>>(i == 0 ? gate[e] : i == 1 ? up[e] : down[e]));
      table[i * E + e] = dev.back()->ptr;
    }
  }
  DeviceBuffer<const void*> dtable(table);
  for (int k : {1, 2, 8}) {
    for (int n : {1, 3}) {
      std::vector<uint16_t> x(static_cast<size_t>(n) * hidden);
      for (auto& v : x) v = f32_to_bf16(normal(rng));
      std::vector<int> ids(static_cast<size_t>(n) * k);
      std::vector<float> w(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        ids[i] = static_cast<int>((i * 5 + 1) % E);  // tokens share experts; k = 8 repeats one within a token
        w[i] = 0.1f + 0.05f * static_cast<float>(i % 7);
      }
      DeviceBuffer<uint16_t> dx(x), dh(static_cast<size_t>(n) * k * inter), dout(static_cast<size_t>(n) * hidden);
      DeviceBuffer<int> dids(ids);
      DeviceBuffer<float> dw(w);
      ASSERT_EQ(cuda::moe_experts(dx.ptr, n, k, hidden, inter, dids.ptr, dw.ptr, dtable.ptr, dtable.ptr + E,
                                  dtable.ptr + 2 * E, dh.ptr, dout.ptr, nullptr),
                "");
      const auto out = dout.download();
      double worst = 0;
      for (int t = 0; t < n; ++t) {
        std::vector<double> ref(hidden, 0.0), mag(hidden, 0.0);
        for (int s = 0; s < k; ++s) {
          const int e = ids[t * k + s];
          std::vector<double> h(inter);
          for (int i = 0; i < inter; ++i) {
            double g = 0, u = 0;
            for (int c = 0; c < hidden; ++c) {
              const double xv = bf16_to_f32(x[static_cast<size_t>(t) * hidden + c]);
              g += xv * bf16_to_f32(gate[e][static_cast<size_t>(i) * hidden + c]);
              u += xv * bf16_to_f32(up[e][static_cast<size_t>(i) * hidden + c]);
            }
            h[i] = g / (1 + std::exp(-g)) * u;
          }
          for (int r = 0; r < hidden; ++r) {
            double y = 0, ym = 0;
            for (int i = 0; i < inter; ++i) {
              const double p = h[i] * bf16_to_f32(down[e][static_cast<size_t>(r) * inter + i]);
              y += p;
              ym += std::abs(p);
            }
            ref[r] += w[t * k + s] * y;
            mag[r] += w[t * k + s] * ym;
          }
        }
        for (int r = 0; r < hidden; ++r) {
          const double got = bf16_to_f32(out[static_cast<size_t>(t) * hidden + r]);
          worst = std::max(worst, std::abs(got - ref[r]) / (mag[r] / 64 + std::abs(ref[r]) / 128 + 1e-6));
        }
      }
      EXPECT_LE(worst, 1.0) << "k " << k << " n " << n;
    }
  }
  EXPECT_NE(cuda::moe_experts(nullptr, 1, cuda::kMoeMaxSlots + 1, 8, 8, nullptr, nullptr, nullptr, nullptr, nullptr,
                              nullptr, nullptr, nullptr),
            "");
}

// The combine of prompt chunks: each token's k rows of the expert-grouped outputs, weighted,
// summed in fp32 in slot order (empty slots skipped), rounded to bf16 once.
TEST(MoeKernels, CombineMatchesFp64) {
  if (!kernel_test::have_gpu()) GTEST_SKIP() << "no GPU";
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  const int n = 37, k = 8, hidden = 264, pairs = n * k;
  std::vector<uint16_t> y(static_cast<size_t>(pairs) * hidden);
  for (auto& v : y) v = f32_to_bf16(normal(rng));
  std::vector<int> order(pairs), pos(pairs);
  for (int i = 0; i < pairs; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);  // rows of y in expert order, not token order
  std::vector<float> w(pairs);
  for (int i = 0; i < pairs; ++i) {
    pos[i] = i % 5 == 3 ? -1 : order[i];
    w[i] = std::abs(normal(rng)) / k;
  }
  DeviceBuffer<uint16_t> dy(y), dout(static_cast<size_t>(n) * hidden);
  DeviceBuffer<int> dpos(pos);
  DeviceBuffer<float> dw(w);
  ASSERT_EQ(cuda::moe_combine(dy.ptr, dpos.ptr, dw.ptr, n, k, hidden, dout.ptr, nullptr), "");
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto out = dout.download();
  double worst = 0;
  for (int t = 0; t < n; ++t) {
    for (int c = 0; c < hidden; ++c) {
      double ref = 0, mag = 0;
      for (int j = 0; j < k; ++j) {
        const int p = pos[t * k + j];
        if (p < 0) continue;
        const double term = static_cast<double>(w[t * k + j]) * bf16_to_f32(y[static_cast<size_t>(p) * hidden + c]);
        ref += term;
        mag += std::abs(term);
      }
      const double got = bf16_to_f32(out[static_cast<size_t>(t) * hidden + c]);
      worst = std::max(worst, std::abs(got - ref) / (k * mag / (1 << 23) + std::abs(ref) / 256 + 1e-7));
    }
  }
  EXPECT_LE(worst, 1.0);
}

}  // namespace
}  // namespace swaa
