// Shared by the CUDA kernel tests (attention_kernel_test.cc, attention_train_test.cc): the quick-run
// switch, GPU detection, an owning device buffer, bf16 rounding, the NaN sentinel for unwritten
// outputs, and the tolerance rule (2x a naive same-precision implementation's error plus 1e-4 of
// the reference's magnitude).
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/dtype.h"

namespace swaa::kernel_test {

inline constexpr uint16_t kNaNBf16 = 0x7fc0;

// SWAA_KERNEL_TEST_QUICK=1 runs every 5th case (for compute-sanitizer).
inline bool quick() {
  const char* q = std::getenv("SWAA_KERNEL_TEST_QUICK");
  return q != nullptr && q[0] == '1';
}

inline bool have_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

inline float bf16_round(float x) { return bf16_to_f32(f32_to_bf16(x)); }

template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  size_t n = 0;
  explicit DeviceBuffer(const std::vector<T>& host) : n(host.size()) {
    if (cudaMalloc(reinterpret_cast<void**>(&ptr), std::max<size_t>(1, n) * sizeof(T)) != cudaSuccess) ptr = nullptr;
    if (ptr && n) cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice);
  }
  explicit DeviceBuffer(size_t count) : n(count) {
    if (cudaMalloc(reinterpret_cast<void**>(&ptr), std::max<size_t>(1, n) * sizeof(T)) != cudaSuccess) ptr = nullptr;
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  std::vector<T> download() const {
    std::vector<T> h(n);
    if (n) cudaMemcpy(h.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
  }
};

// Largest errors of one tensor: the kernel's and the naive implementation's against the
// reference, and the reference's magnitude.
struct Errors {
  double kernel = 0, naive = 0, max_ref = 0;
  double tol() const { return 2.0 * naive + 1e-4 * max_ref; }
};

}  // namespace swaa::kernel_test
