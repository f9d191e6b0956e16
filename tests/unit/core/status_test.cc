// Status/Result plumbing: error propagation through SWAA_ASSIGN_OR_RETURN keeps code and message.
#include "swaa/status.h"

#include <gtest/gtest.h>

namespace swaa {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("value must be positive, got " + std::to_string(v));
  return v;
}

Result<int> doubled(int v) {
  SWAA_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

TEST(Status, OkAndError) {
  EXPECT_TRUE(Status().ok());
  Status s = not_found("x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.with_context("loading").message(), "loading: x");
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(doubled(3).value(), 6);
  auto r = doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "value must be positive, got -1");
}

}  // namespace
}  // namespace swaa
