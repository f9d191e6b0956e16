// Host-side description of the visible CUDA devices, used by `--device cuda` once the CUDA
// backend lands; it reports a precise error when no GPU is present.
#include "backend/cuda/cuda_device.h"

#include "device_info.h"

namespace swaa {

Result<std::string> describe_cuda_device(int device) {
  const int n = cuda::device_count();
  if (n == 0) return unimplemented("no CUDA device is visible (driver missing or no GPU on this machine)");
  if (device < 0 || device >= n) {
    return invalid_argument("CUDA device " + std::to_string(device) + " does not exist; " + std::to_string(n) +
                            " visible");
  }
  return "cuda:" + std::to_string(device) + " (sm_" + std::to_string(cuda::compute_capability(device)) + ")";
}

}  // namespace swaa
