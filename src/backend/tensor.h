// Tensor: a contiguous, row-major buffer owned by a backend (host memory for the CPU backend,
// device memory for CUDA), with its dtype and shape. Copies share the buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace swaa {

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<void> buffer, DType dtype, std::vector<int64_t> shape)
      : buffer_(std::move(buffer)), dtype_(dtype), shape_(std::move(shape)) {}

  bool defined() const { return buffer_ != nullptr; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape_) n *= d;
    return n;
  }
  size_t num_bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  void* data() const { return buffer_.get(); }
  template <typename T>
  T* data_as() const {
    return static_cast<T*>(buffer_.get());
  }
  // Same buffer, new shape of equal numel (a view).
  Tensor reshaped(std::vector<int64_t> shape) const { return Tensor(buffer_, dtype_, std::move(shape)); }
  // Rows [begin, begin + count) of dim 0, sharing the buffer (a view; keeps the buffer alive).
  Tensor rows(int64_t begin, int64_t count) const {
    std::vector<int64_t> shape = shape_;
    shape[0] = count;
    const size_t row_bytes = shape_[0] == 0 ? 0 : num_bytes() / static_cast<size_t>(shape_[0]);
    return Tensor(std::shared_ptr<void>(buffer_, static_cast<char*>(buffer_.get()) + begin * row_bytes), dtype_,
                  std::move(shape));
  }

 private:
  std::shared_ptr<void> buffer_;
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
};

}  // namespace swaa
