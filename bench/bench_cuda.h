// Shared by the benchmarks (bench/*.cu): CHECK_CUDA (a failed CUDA call prints where and exits),
// EventPair (the milliseconds of one launch sequence between two CUDA events), FlushedTimer (median
// of launches each after a 512 MB read that leaves the L2 holding clean lines, as in a decode step)
// and weight_bytes (a device buffer of finite bf16 values).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK_CUDA(expr)                                                                         \
  do {                                                                                           \
    cudaError_t e_ = (expr);                                                                     \
    if (e_ != cudaSuccess) {                                                                     \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                                              \
    }                                                                                            \
  } while (0)

struct EventPair {
  cudaEvent_t start, stop;
  EventPair() {
    CHECK_CUDA(cudaEventCreate(&start));
    CHECK_CUDA(cudaEventCreate(&stop));
  }
  template <typename Fn>
  float ms(Fn fn) {
    CHECK_CUDA(cudaEventRecord(start));
    fn();
    CHECK_CUDA(cudaEventRecord(stop));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float t = 0;
    CHECK_CUDA(cudaEventElapsedTime(&t, start, stop));
    return t;
  }
};

__global__ void flush_read_all(const uint4* p, size_t n, unsigned* sink) {
  unsigned acc = 0;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const uint4 v = p[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9e3779b9u) *sink = acc;  // keeps the loads; practically never taken
}

struct FlushedTimer {
  void* flush = nullptr;
  size_t flush_bytes = 512ull << 20;  // > 50 MB L2, several times
  unsigned* sink = nullptr;
  EventPair events;
  FlushedTimer() {
    CHECK_CUDA(cudaMalloc(&flush, flush_bytes));
    CHECK_CUDA(cudaMemset(flush, 1, flush_bytes));
    CHECK_CUDA(cudaMalloc(&sink, 4));
  }
  // Median milliseconds of `fn` over reps launches (after one untimed), each after the flush.
  template <typename Fn>
  double median_ms(Fn fn, int reps) {
    fn();
    CHECK_CUDA(cudaDeviceSynchronize());
    std::vector<float> ms;
    for (int r = 0; r < reps; ++r) {
      flush_read_all<<<1024, 256>>>(static_cast<const uint4*>(flush), flush_bytes / 16, sink);
      ms.push_back(events.ms(fn));
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  }
};

inline void* weight_bytes(size_t bytes) {
  void* p = nullptr;
  CHECK_CUDA(cudaMalloc(&p, bytes));
  CHECK_CUDA(cudaMemset(p, 0x3c, bytes));  // bf16 0x3c3c ~ 0.0115: finite, no denormals
  return p;
}
