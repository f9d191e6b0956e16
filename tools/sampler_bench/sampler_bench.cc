// Host sampling cost per row over a 151936-token vocabulary (Qwen's), the engine's sampled-step
// path: `Sampler::sample` with top_k off (the sorted order built as far as top-p, min-p and the
// draw look) next to top_k = V - 1 (a heap partial sort of the whole row first: what top_k off did
// until 2026-12-03). Logit rows: "flat", N(0, 3) (mass spread over thousands of tokens, the slow
// case for sorting on demand), and "peaked", N(0, 3) plus +12 on 20 tokens (mass concentrated, as
// in a trained model's rows). Same seed for both columns: the tokens drawn are printed as a sum.
// Then a sampled step of 16 rows through `sample_rows` (the engine's parallel draw) on 1 thread
// and on every core.
// Usage: sampler_bench [reps]   (default 30)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include <omp.h>

#include "engine/request_state.h"
#include "sampling/sampler.h"

namespace {

double ms_per_row(const std::vector<float>& row, swaa::SamplingParams p, int reps, long long& token_sum) {
  swaa::Sampler s(p);
  const std::vector<int32_t> none;
  token_sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    std::vector<float> l = row;
    token_sum += s.sample(l, none, none);
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 30;
  constexpr int kVocab = 151936;
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.f, 3.f);
  std::vector<float> flat(kVocab);
  for (float& x : flat) x = d(rng);
  std::vector<float> peaked = flat;
  for (int i = 0; i < 20; ++i) peaked[(i * 7919) % kVocab] += 12.f;
  std::printf("| logits | temperature | top_p | top_k off: ms per row | top_k = V - 1 (full partial sort) | same tokens |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const auto& [name, row] : {std::pair{"flat", &flat}, std::pair{"peaked", &peaked}}) {
    for (float temperature : {0.7f, 1.0f}) {
      for (float top_p : {0.95f, 1.0f}) {
        swaa::SamplingParams p;
        p.temperature = temperature;
        p.top_p = top_p;
        p.seed = 5;
        long long sum_off = 0, sum_full = 0;
        const double off = ms_per_row(*row, p, reps, sum_off);
        p.top_k = kVocab - 1;
        const double full = ms_per_row(*row, p, reps, sum_full);
        std::printf("| %s | %.1f | %.2f | %.2f | %.2f | %s |\n", name, temperature, top_p, off, full,
                    sum_off == sum_full ? "yes" : "no");
      }
    }
  }
  // A sampled step of 16 rows (peaked logits, temperature 0.7, top_p 0.95).
  constexpr int kRows = 16;
  std::vector<std::unique_ptr<swaa::RequestState>> reqs;
  std::vector<swaa::RequestState*> ptrs;
  for (int i = 0; i < kRows; ++i) {
    swaa::SamplingParams p;
    p.temperature = 0.7f;
    p.top_p = 0.95f;
    p.seed = i;
    reqs.push_back(std::make_unique<swaa::RequestState>(i, std::vector<int32_t>{1}, p, nullptr, std::vector<int32_t>{}));
    ptrs.push_back(reqs.back().get());
  }
  std::vector<float> step_logits;
  for (int i = 0; i < kRows; ++i) step_logits.insert(step_logits.end(), peaked.begin(), peaked.end());
  for (int threads : {1, omp_get_num_procs()}) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      std::vector<float> l = step_logits;
      swaa::sample_rows(ptrs, l, kVocab, threads);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
    std::printf("sample_rows, %d rows, %d thread%s: %.2f ms per step\n", kRows, threads, threads == 1 ? "" : "s", ms);
  }
  return 0;
}
