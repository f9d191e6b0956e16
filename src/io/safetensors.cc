// Safetensors parsing: 8-byte little-endian header length, JSON header, then raw tensor bytes.
// Every offset is validated against the file size before any view is handed out.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <nlohmann/json.hpp>

#include "core/json_util.h"

namespace swaa {

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorView::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

Result<DType> parse_dtype(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return DType::kF32;
  if (s == "BF16") return DType::kBF16;
  if (s == "F16") return DType::kF16;
  return unimplemented(path + ": tensor '" + name + "' has dtype '" + s +
                       "'; supported dtypes are F32, BF16 and F16");
}

}  // namespace

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    if (errno == ENOENT) return not_found(path + ": no such file");
    return data_loss(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return data_loss(path + ": cannot stat: " + std::strerror(errno));
  }
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ < 8) {
    ::close(fd);
    return data_loss(path + ": file is " + std::to_string(f->size_) +
                     " bytes, too short for a safetensors header (truncated?)");
  }
  void* m = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return data_loss(path + ": mmap failed: " + std::strerror(errno));
  f->mapping_ = m;
  SWAA_RETURN_IF_ERROR(f->parse_header());
  return f;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

Status SafetensorsFile::parse_header() {
  const auto* bytes = static_cast<const uint8_t*>(mapping_);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > size_ - 8) {
    return data_loss(path_ + ": header length " + std::to_string(header_len) + " exceeds the file size " +
                     std::to_string(size_) + " (truncated or not a safetensors file)");
  }
  const char* hdr = reinterpret_cast<const char*>(bytes + 8);
  nlohmann::json j = nlohmann::json::parse(hdr, hdr + header_len, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return data_loss(path_ + ": header is not a JSON object (not a safetensors file?)");
  }
  const size_t data_start = 8 + header_len;
  const size_t data_size = size_ - data_start;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string& name = it.key();
    const auto& e = it.value();
    const std::string where = path_ + ": tensor '" + name + "'";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets") ||
        !e["dtype"].is_string() || !e["shape"].is_array() || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2) {
      return data_loss(where + ": header entry must have string 'dtype', array 'shape' and "
                       "2-element 'data_offsets', got " + json_snippet(e));
    }
    TensorView v;
    v.name = name;
    v.file = path_;
    SWAA_ASSIGN_OR_RETURN(v.dtype, parse_dtype(e["dtype"].get<std::string>(), path_, name));
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) return data_loss(where + ": shape entry " + json_snippet(d) + " is not a non-negative integer");
      v.shape.push_back(d.get<int64_t>());
    }
    const auto& offs = e["data_offsets"];
    if (!offs[0].is_number_unsigned() || !offs[1].is_number_unsigned()) {
      return data_loss(where + ": data_offsets " + json_snippet(offs) + " are not non-negative integers");
    }
    const uint64_t begin = offs[0].get<uint64_t>(), end = offs[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return data_loss(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") overrun the data section of " + std::to_string(data_size) +
                       " bytes (file truncated or header corrupt)");
    }
    const uint64_t expected = static_cast<uint64_t>(v.numel()) * dtype_size(v.dtype);
    if (end - begin != expected) {
      return data_loss(where + ": holds " + std::to_string(end - begin) + " bytes but shape " +
                       v.shape_string() + " of " + std::string(dtype_name(v.dtype)) + " needs " +
                       std::to_string(expected));
    }
    v.data = bytes + data_start + begin;
    v.num_bytes = end - begin;
    tensors_.emplace(name, std::move(v));
  }
  return Status();
}

Result<Checkpoint> Checkpoint::open(const std::string& dir) {
  namespace fs = std::filesystem;
  Checkpoint ck;
  ck.dir_ = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found(dir + ": not a directory (expected a checkpoint directory)");
  const std::string single = (fs::path(dir) / "model.safetensors").string();
  const std::string index_path = (fs::path(dir) / "model.safetensors.index.json").string();
  std::vector<std::string> shard_names;
  std::map<std::string, std::string> tensor_to_shard;
  if (fs::exists(index_path, ec)) {
    SWAA_ASSIGN_OR_RETURN(nlohmann::json index, read_json_file(index_path));
    if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
      return data_loss(index_path + ": missing object field 'weight_map'");
    }
    std::set<std::string> seen;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      if (!it.value().is_string()) {
        return data_loss(index_path + ": weight_map['" + it.key() + "'] is " + json_snippet(it.value()) +
                         ", expected a shard file name");
      }
      const std::string shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos) {
        return data_loss(index_path + ": weight_map['" + it.key() + "'] names '" + shard +
                         "', expected a file name inside the checkpoint directory");
      }
      tensor_to_shard[it.key()] = shard;
      if (seen.insert(shard).second) shard_names.push_back(shard);
    }
  } else if (fs::exists(single, ec)) {
    shard_names.push_back("model.safetensors");
  } else {
    return not_found(dir + ": neither model.safetensors nor model.safetensors.index.json found");
  }
  for (const std::string& shard : shard_names) {
    SWAA_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> f,
                          SafetensorsFile::open((fs::path(dir) / shard).string()));
    std::shared_ptr<SafetensorsFile> file(std::move(f));
    for (const auto& [name, view] : file->tensors()) {
      auto want = tensor_to_shard.find(name);
      if (!tensor_to_shard.empty() && (want == tensor_to_shard.end() || want->second != shard)) continue;
      if (!ck.index_.emplace(name, view).second) {
        return data_loss(file->path() + ": tensor '" + name + "' appears in more than one shard");
      }
    }
    ck.files_.push_back(std::move(file));
  }
  for (const auto& [name, shard] : tensor_to_shard) {
    if (!ck.index_.count(name)) {
      return data_loss(index_path + ": tensor '" + name + "' is listed in shard '" + shard +
                       "' but that shard does not contain it");
    }
  }
  return ck;
}

Result<TensorView> Checkpoint::get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return not_found(dir_ + ": checkpoint has no tensor '" + name + "'");
  return it->second;
}

Result<TensorView> Checkpoint::get(const std::string& name, const std::vector<int64_t>& shape) const {
  SWAA_ASSIGN_OR_RETURN(TensorView v, get(name));
  if (v.shape != shape) {
    TensorView want;
    want.shape = shape;
    return invalid_argument(v.file + ": tensor '" + name + "' has shape " + v.shape_string() +
                            ", expected " + want.shape_string() + " from config.json");
  }
  return v;
}

}  // namespace swaa
