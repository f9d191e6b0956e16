// Backend selection by device name ("cpu", "cuda", "cuda:N"); CUDA exists only in builds
// configured with SWAA_CUDA (the engine target then defines SWAA_HAVE_CUDA).
#include <string>

#include "backend/backend.h"
#ifdef SWAA_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace swaa {

Result<std::unique_ptr<Backend>> make_backend(const std::string& device, int num_threads) {
  if (device == "cpu") return make_cpu_backend(num_threads);
  if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (device.size() > 5) {
      try {
        size_t used = 0;
        index = std::stoi(device.substr(5), &used);
        if (used != device.size() - 5) throw std::invalid_argument(device);
      } catch (const std::exception&) {
        return invalid_argument("device '" + device + "': expected cuda:N with N a device index");
      }
    }
#ifdef SWAA_HAVE_CUDA
    return make_cuda_backend(index);
#else
    (void)index;
    return unimplemented("device '" + device + "': this build has no CUDA backend (configure with -DSWAA_CUDA=ON on a machine with nvcc)");
#endif
  }
  return invalid_argument("unknown device '" + device + "' (expected cpu, cuda or cuda:N)");
}

}  // namespace swaa
