// Safetensors checkpoints: one memory-mapped file, or a sharded set named by
// model.safetensors.index.json. Tensors are exposed as views into the mapping (no copies).
// Invariant: every TensorView's bytes lie inside its file (checked when the header is parsed).
// Tests: tests/unit/io/safetensors_test.cc
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "swaa/status.h"

namespace swaa {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;  // points into the file mapping
  size_t num_bytes = 0;
  std::string file;  // for error messages

  int64_t numel() const;
  std::string shape_string() const;  // "[64, 128]"
};

// One mmapped .safetensors file. Moveable, not copyable; unmaps on destruction.
class SafetensorsFile {
 public:
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  Status parse_header();

  std::string path_;
  void* mapping_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, TensorView> tensors_;
};

// All tensors of a checkpoint directory (single file or sharded).
class Checkpoint {
 public:
  // `dir` holds model.safetensors or model.safetensors.index.json (+ shards).
  static Result<Checkpoint> open(const std::string& dir);

  // Looks a tensor up; the error names the tensor and the checkpoint directory.
  Result<TensorView> get(const std::string& name) const;
  // Same, and checks the shape; the error gives expected and found shapes.
  Result<TensorView> get(const std::string& name, const std::vector<int64_t>& shape) const;
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  size_t num_tensors() const { return index_.size(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, TensorView> index_;
};

}  // namespace swaa
