// Safetensors reader: round trip of every dtype, sharded checkpoints, and precise errors for
// missing, truncated and corrupt files (each names the file and what is wrong).
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/checkpoint_writer.h"

namespace swaa {
namespace {

using testing::HostTensor;
using testing::TensorMap;

TensorMap sample_tensors() {
  TensorMap m;
  m["a"] = HostTensor{DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6}};
  m["b"] = HostTensor{DType::kBF16, {4}, {1.0f, -2.0f, 0.5f, 3.0f}};
  m["c"] = HostTensor{DType::kF16, {2, 1}, {0.25f, -65504.0f}};
  return m;
}

std::string write_raw(const std::string& dir, const std::string& header, const std::string& data) {
  const std::string path = dir + "/model.safetensors";
  std::ofstream out(path, std::ios::binary);
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
  out << header << data;
  return path;
}

void expect_error(const Status& st, StatusCode code, std::initializer_list<const char*> parts) {
  EXPECT_EQ(st.code(), code) << st.message();
  for (const char* p : parts) EXPECT_NE(st.message().find(p), std::string::npos) << st.message() << " lacks " << p;
}

TEST(Safetensors, RoundTripAllDtypes) {
  const std::string dir = testing::make_temp_dir("ck");
  testing::write_safetensors(dir + "/model.safetensors", sample_tensors());
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(ck.ok()) << ck.status().message();
  EXPECT_EQ(ck->num_tensors(), 3u);
  for (const auto& [name, t] : sample_tensors()) {
    auto v = ck->get(name, t.shape);
    ASSERT_TRUE(v.ok()) << v.status().message();
    EXPECT_EQ(v->dtype, t.dtype);
    std::vector<float> got(v->numel());
    convert_to_f32(v->dtype, v->data, got.data(), got.size());
    EXPECT_EQ(got, t.values) << name;
  }
}

TEST(Safetensors, Sharded) {
  const std::string dir = testing::make_temp_dir("sharded");
  TensorMap all = sample_tensors(), s1, s2;
  s1["a"] = all["a"];
  s2["b"] = all["b"];
  s2["c"] = all["c"];
  testing::write_safetensors(dir + "/model-00001-of-00002.safetensors", s1);
  testing::write_safetensors(dir + "/model-00002-of-00002.safetensors", s2);
  std::ofstream(dir + "/model.safetensors.index.json")
      << R"({"metadata": {}, "weight_map": {"a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})";
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(ck.ok()) << ck.status().message();
  EXPECT_EQ(ck->num_tensors(), 3u);
  EXPECT_TRUE(ck->get("c").ok());
  // A shard listed in the index but missing on disk.
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"a": "model-00009.safetensors"}})";
  expect_error(Checkpoint::open(dir).status(), StatusCode::kNotFound, {"model-00009.safetensors"});
  // The index claims a tensor its shard does not hold.
  std::ofstream(dir + "/model.safetensors.index.json") << R"({"weight_map": {"z": "model-00001-of-00002.safetensors"}})";
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"'z'", "model-00001-of-00002"});
}

TEST(Safetensors, MissingDirectoryAndFile) {
  expect_error(Checkpoint::open("/nonexistent/ckpt").status(), StatusCode::kNotFound, {"/nonexistent/ckpt"});
  const std::string dir = testing::make_temp_dir("empty");
  expect_error(Checkpoint::open(dir).status(), StatusCode::kNotFound, {"model.safetensors"});
}

TEST(Safetensors, TruncatedFiles) {
  const std::string dir = testing::make_temp_dir("trunc");
  std::ofstream(dir + "/model.safetensors", std::ios::binary) << "abc";
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"too short", "model.safetensors"});
  // Header length larger than the file.
  write_raw(dir, R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", "");
  std::filesystem::resize_file(dir + "/model.safetensors", 20);
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"header length", "exceeds"});
  // A full file cut short in its data section.
  testing::write_safetensors(dir + "/model.safetensors", sample_tensors());
  std::filesystem::resize_file(dir + "/model.safetensors", std::filesystem::file_size(dir + "/model.safetensors") - 3);
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"overrun"});
}

TEST(Safetensors, CorruptHeaders) {
  const std::string dir = testing::make_temp_dir("corrupt");
  write_raw(dir, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 64]}})", std::string(8, '\0'));
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"tensor 'a'", "overrun", "[0, 64)"});
  write_raw(dir, R"({"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  expect_error(Checkpoint::open(dir).status(), StatusCode::kUnimplemented, {"'I64'", "tensor 'a'"});
  write_raw(dir, R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"needs 12"});
  write_raw(dir, "not json at all", "");
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"not a JSON object"});
  write_raw(dir, R"({"a": {"dtype": "F32", "shape": [1]}})", std::string(4, '\0'));
  expect_error(Checkpoint::open(dir).status(), StatusCode::kDataLoss, {"data_offsets"});
}

TEST(Safetensors, MissingAndMisShapedTensors) {
  const std::string dir = testing::make_temp_dir("shape");
  testing::write_safetensors(dir + "/model.safetensors", sample_tensors());
  auto ck = Checkpoint::open(dir);
  ASSERT_TRUE(ck.ok());
  expect_error(ck->get("model.norm.weight").status(), StatusCode::kNotFound, {"'model.norm.weight'"});
  expect_error(ck->get("a", {3, 2}).status(), StatusCode::kInvalidArgument, {"'a'", "[2, 3]", "expected [3, 2]"});
}

}  // namespace
}  // namespace swaa
