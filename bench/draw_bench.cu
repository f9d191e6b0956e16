// Token draws of one decode step (cuda::draw_rows) next to what they replace: copying the logit rows
// to the host (pageable memory, as the engine did) and the greedy argmax kernel. Rows of a
// Qwen3-sized vocabulary (151936), peaked (logits ~ N(0, 4), as real models put most mass on a few
// tokens) and flat (N(0, 0.05), a random checkpoint's), for 1-64 rows and a few sampling settings.
// Median of 50 launches, logits resident in L2 or HBM as after the lm_head GEMM (no flush).
// Usage: draw_bench [--csv]
#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_cuda.h"
#include "ops.h"

namespace {

constexpr int kVocab = 151936;

float median_ms(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const bool csv = argc > 1 && std::strcmp(argv[1], "--csv") == 0;
  int num_sms = 0;
  CHECK_CUDA(cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, 0));
  const int max_rows = 64;
  float* d_x = nullptr;
  int32_t* d_out = nullptr;
  swaa::cuda::DrawRow* d_draws = nullptr;
  CHECK_CUDA(cudaMalloc(&d_x, sizeof(float) * kVocab * max_rows));
  CHECK_CUDA(cudaMalloc(&d_out, sizeof(int32_t) * max_rows));
  CHECK_CUDA(cudaMalloc(&d_draws, sizeof(swaa::cuda::DrawRow) * max_rows));
  std::vector<float> host(static_cast<size_t>(kVocab) * max_rows);
  struct Setting {
    const char* name;
    float temperature, top_p, min_p;
    int top_k;
  };
  const Setting settings[] = {{"T=1", 1.0f, 1.0f, 0.0f, 0},
                              {"T=0.7 top_p=0.9", 0.7f, 0.9f, 0.0f, 0},
                              {"T=0.7 top_k=50 top_p=0.95", 0.7f, 0.95f, 0.0f, 50},
                              {"T=1 min_p=0.05", 1.0f, 1.0f, 0.05f, 0}};
  EventPair ev;
  std::mt19937 gen(1);
  if (csv) std::printf("rows,scale,setting,draw_us,argmax_us,copy_to_host_us\n");
  for (float scale : {4.0f, 0.05f}) {
    std::normal_distribution<float> nd(0.f, scale);
    for (float& v : host) v = nd(gen);
    CHECK_CUDA(cudaMemcpy(d_x, host.data(), sizeof(float) * host.size(), cudaMemcpyHostToDevice));
    for (int rows : {1, 8, 16, 32, 64}) {
      std::vector<float> copy_t, argmax_t;
      std::vector<float> sink(static_cast<size_t>(rows) * kVocab);
      for (int i = 0; i < 50; ++i) {
        copy_t.push_back(ev.ms([&] {
          CHECK_CUDA(cudaMemcpy(sink.data(), d_x, sizeof(float) * sink.size(), cudaMemcpyDeviceToHost));
        }));
        argmax_t.push_back(ev.ms([&] {
          if (!swaa::cuda::argmax_rows(d_x, rows, kVocab, d_out, nullptr).empty()) std::exit(1);
        }));
      }
      for (const Setting& s : settings) {
        std::vector<swaa::cuda::DrawRow> draws(rows);
        std::uniform_real_distribution<double> uni(0.0, 1.0);
        std::vector<float> draw_t;
        for (int i = 0; i < 50; ++i) {
          for (auto& d : draws) d = {s.temperature, s.top_p, s.min_p, s.top_k, uni(gen)};
          CHECK_CUDA(cudaMemcpy(d_draws, draws.data(), sizeof(draws[0]) * rows, cudaMemcpyHostToDevice));
          draw_t.push_back(ev.ms([&] {
            const std::string e = swaa::cuda::draw_rows(d_x, rows, kVocab, d_draws, d_out, num_sms, nullptr);
            if (!e.empty()) {
              std::fprintf(stderr, "%s\n", e.c_str());
              std::exit(1);
            }
          }));
        }
        const float draw_us = 1000 * median_ms(draw_t), argmax_us = 1000 * median_ms(argmax_t),
                    copy_us = 1000 * median_ms(copy_t);
        if (csv) {
          std::printf("%d,%g,%s,%.1f,%.1f,%.1f\n", rows, scale, s.name, draw_us, argmax_us, copy_us);
        } else {
          std::printf("rows %2d  logits N(0, %-4g)  %-27s draw %7.1f us   argmax %6.1f us   copy to host %7.1f us\n",
                      rows, scale, s.name, draw_us, argmax_us, copy_us);
        }
      }
    }
  }
  CHECK_CUDA(cudaGetLastError());
  return 0;
}
