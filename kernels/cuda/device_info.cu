// Device discovery for the CUDA backend: how many GPUs, which compute capability.
// Kernels proper (attention, norms, rope) arrive with the CUDA backend issue.
#include "device_info.h"

#include <cuda_runtime.h>

namespace swaa::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

int compute_capability(int device) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return -1;
  return prop.major * 10 + prop.minor;
}

}  // namespace swaa::cuda
