// JSON file reading: missing and malformed files give errors naming the file.
#include "core/json_util.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace swaa {
namespace {

TEST(JsonUtil, MissingFile) {
  auto r = read_json_file("/nonexistent/dir/config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/config.json"), std::string::npos);
}

TEST(JsonUtil, MalformedFile) {
  std::string path = testing::TempDir() + "/bad.json";
  std::ofstream(path) << "{\"a\": 1,";
  auto r = read_json_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("bad.json"), std::string::npos);
  std::remove(path.c_str());
}

TEST(JsonUtil, Parses) {
  std::string path = testing::TempDir() + "/good.json";
  std::ofstream(path) << "{\"a\": [1, 2]}";
  auto r = read_json_file(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["a"][1], 2);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace swaa
