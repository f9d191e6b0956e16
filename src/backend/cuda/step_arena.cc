// StepArena (see step_arena.h).
#include "backend/cuda/step_arena.h"

#include <cuda_runtime.h>

#include <cstring>

namespace swaa {

StepArena::~StepArena() {
  if (host_ != nullptr) cudaFreeHost(host_);
  if (dev_ != nullptr) cudaFree(dev_);
}

std::string StepArena::reset(size_t bytes) {
  used_ = flushed_ = 0;
  if (bytes <= capacity_) return "";
  if (host_ != nullptr) cudaFreeHost(host_);
  if (dev_ != nullptr) cudaFree(dev_);
  host_ = dev_ = nullptr;
  capacity_ = 0;
  const size_t want = padded(bytes + bytes / 2);  // headroom: batches grow a little at a time
  cudaError_t e = cudaMallocHost(&host_, want);
  if (e == cudaSuccess) e = cudaMalloc(&dev_, want);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("step arena of ") + std::to_string(want) + " bytes: " + cudaGetErrorString(e);
  }
  capacity_ = want;
  return "";
}

const void* StepArena::stage(const void* data, size_t n) {
  if (used_ + padded(n) > capacity_) return nullptr;
  if (n > 0) std::memcpy(host_ + used_, data, n);
  const void* at = dev_ + used_;
  used_ += padded(n);
  return at;
}

std::string StepArena::flush(void* stream) {
  if (used_ == flushed_) return "";
  const cudaError_t e = cudaMemcpyAsync(dev_ + flushed_, host_ + flushed_, used_ - flushed_, cudaMemcpyHostToDevice,
                                        static_cast<cudaStream_t>(stream));
  flushed_ = used_;
  return e == cudaSuccess ? "" : std::string("step arena upload: ") + cudaGetErrorString(e);
}

}  // namespace swaa
