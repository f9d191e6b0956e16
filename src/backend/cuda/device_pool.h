// DevicePool: caching device allocator of the CUDA backend. Freed buffers go to a free list keyed
// by their rounded size and are handed out again (stream-ordered reuse: the backend runs every op
// on one stream, so a buffer freed by one op is only touched again by ops enqueued after it).
// Buffers are returned to CUDA only when the pool dies; a buffer keeps its pool alive.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "swaa/status.h"

namespace swaa {

class DevicePool : public std::enable_shared_from_this<DevicePool> {
 public:
  static std::shared_ptr<DevicePool> create() { return std::shared_ptr<DevicePool>(new DevicePool()); }
  ~DevicePool() {
    for (auto& [size, list] : free_) {
      for (void* p : list) cudaFree(p);
    }
  }
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  Result<std::shared_ptr<void>> get(size_t bytes) {
    bytes = std::max<size_t>(256, (bytes + 255) / 256 * 256);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
      }
    }
    if (p == nullptr) {
      if (cudaMalloc(&p, bytes) != cudaSuccess) {
        cudaGetLastError();
        return resource_exhausted("cudaMalloc of " + std::to_string(bytes) + " bytes failed (GPU memory full)");
      }
      reserved_ += bytes;
    }
    std::shared_ptr<DevicePool> self = shared_from_this();
    return std::shared_ptr<void>(p, [self, bytes](void* q) {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->free_[bytes].push_back(q);
    });
  }
  // Bytes obtained from cudaMalloc so far.
  size_t reserved_bytes() const { return reserved_; }

 private:
  DevicePool() = default;
  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  size_t reserved_ = 0;
};

}  // namespace swaa
