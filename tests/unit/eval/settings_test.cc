// Settings lists: names plus the four SWAA fields; the shipped paper_w2k.json; errors naming the entry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "eval/settings.h"

namespace swaa::eval {
namespace {

std::string error_of(const std::string& text) {
  auto r = parse_settings(nlohmann::json::parse(text), "s.json");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(Settings, ParsesArrayAndObjectForms) {
  auto r = parse_settings(nlohmann::json::parse(R"([{"name": "full"},
      {"name": "mix", "sliding_window_size": 64, "keep_first": 4, "force_fa_decode": [0], "non_sliding_layers": [1]}])"),
                          "s.json");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_FALSE((*r)[0].config.sliding_window_size.has_value());
  EXPECT_EQ((*r)[1].name, "mix");
  EXPECT_EQ((*r)[1].config.sliding_window_size, 64);
  EXPECT_EQ((*r)[1].config.keep_first, 4);
  EXPECT_EQ((*r)[1].config.force_fa_decode_layers, std::vector<int>{0});
  EXPECT_EQ((*r)[1].config.non_sliding_layers, std::vector<int>{1});
  auto o = parse_settings(nlohmann::json::parse(R"({"settings": [{"name": "a", "sliding_window_size": 8}]})"), "s");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->size(), 1u);
}

TEST(Settings, PaperFileLoads) {
  auto r = load_settings(std::string(SWAA_EVAL_SETTINGS_DIR) + "/paper_w2k.json");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GE(r->size(), 6u);
  EXPECT_FALSE((*r)[0].config.sliding_window_size.has_value());
  for (size_t i = 1; i < r->size(); ++i) EXPECT_EQ((*r)[i].config.sliding_window_size, 2048) << (*r)[i].name;
}

TEST(Settings, ErrorsNameTheEntry) {
  EXPECT_NE(error_of(R"([{"sliding_window_size": 8}])").find("settings[0]: missing field \"name\""), std::string::npos);
  EXPECT_NE(error_of(R"([{"name": "a"}, {"name": "a"}])").find("settings[1]: duplicate name \"a\""), std::string::npos);
  EXPECT_NE(error_of(R"([{"name": "a", "window": 8}])").find("unknown field 'window'"), std::string::npos);
  EXPECT_NE(error_of(R"([{"name": "a", "sliding_window_size": 0}])").find("settings[0] (\"a\")"), std::string::npos);
  EXPECT_NE(error_of(R"([{"name": ""}])").find("non-empty string"), std::string::npos);
  EXPECT_NE(error_of(R"([])").find("non-empty JSON array"), std::string::npos);
  EXPECT_NE(error_of(R"({"x": 1})").find("{\"settings\": [...]}"), std::string::npos);
  EXPECT_FALSE(load_settings("/nonexistent/s.json").ok());
}

}  // namespace
}  // namespace swaa::eval
