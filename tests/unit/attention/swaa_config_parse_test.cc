// SwaaConfig from JSON and flag strings: the paper's shapes are accepted, bad values rejected with
// messages naming the field and value.
#include "attention/swaa_config_parse.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/checkpoint_writer.h"

namespace swaa {
namespace {

using nlohmann::json;

TEST(SwaaConfigParse, PaperShape) {
  auto c = swaa_config_from_json(
      json::parse(R"({"sliding_window_size": 2048, "keep_first": 100, "force_fa_decode": true, "non_sliding_layers": [1, 3, 5]})"),
      "s.json");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(*c->sliding_window_size, 2048);
  EXPECT_EQ(c->keep_first, 100);
  EXPECT_TRUE(c->force_fa_decode_all);
  EXPECT_EQ(c->non_sliding_layers, (std::vector<int>{1, 3, 5}));
  auto round = swaa_config_from_json(swaa_config_to_json(*c), "rt");
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(swaa_config_to_json(*round), swaa_config_to_json(*c));
}

TEST(SwaaConfigParse, FaDecodeListAndNulls) {
  auto c = swaa_config_from_json(json::parse(R"({"sliding_window_size": null, "force_fa_decode": [0, 2], "non_sliding_layers": null})"), "s");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->sliding_window_size.has_value());
  EXPECT_EQ(c->force_fa_decode_layers, (std::vector<int>{0, 2}));
}

TEST(SwaaConfigParse, Errors) {
  auto msg = [](const char* text) { return swaa_config_from_json(json::parse(text), "s.json").status().message(); };
  EXPECT_NE(msg(R"({"sliding_window_size": 0})").find("sliding_window_size must be >= 1"), std::string::npos);
  EXPECT_NE(msg(R"({"keep_first": -3})").find("keep_first must be >= 0, got -3"), std::string::npos);
  EXPECT_NE(msg(R"({"non_sliding_layers": [1, -1]})").find("negative layer index -1"), std::string::npos);
  EXPECT_NE(msg(R"({"sliding_window_size": "big"})").find("'sliding_window_size' must be an integer or null, got \"big\""), std::string::npos);
  EXPECT_NE(msg(R"({"window": 5})").find("unknown field 'window'"), std::string::npos);
  EXPECT_NE(msg(R"([1])").find("must be a JSON object"), std::string::npos);
}

TEST(SwaaConfigParse, LoadFile) {
  const std::string path = testing::make_temp_dir("cfg") + "/swaa.json";
  std::ofstream(path) << R"({"sliding_window_size": 8, "keep_first": 4})";
  auto c = load_swaa_config(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(*c->sliding_window_size, 8);
  EXPECT_EQ(load_swaa_config("/no/such.json").status().code(), StatusCode::kNotFound);
}

TEST(SwaaConfigParse, LayerListFlag) {
  for (const char* text : {"[1,3,5]", "1,3,5", "1 3 5", " [1, 3, 5] "}) {
    auto r = parse_layer_list(text, "--non-sliding-layers");
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_EQ(*r, (std::vector<int>{1, 3, 5})) << text;
  }
  EXPECT_TRUE(parse_layer_list("", "f")->empty());
  EXPECT_NE(parse_layer_list("1,x", "--non-sliding-layers").status().message().find("'x'"), std::string::npos);
  EXPECT_NE(parse_layer_list("-1", "--non-sliding-layers").status().message().find("negative layer index -1"), std::string::npos);
}

TEST(SwaaConfigParse, ForceFaDecodeFlag) {
  SwaaConfig c;
  ASSERT_TRUE(parse_force_fa_decode("true", c).ok());
  EXPECT_TRUE(c.force_fa_decode_all);
  ASSERT_TRUE(parse_force_fa_decode("1,3", c).ok());
  EXPECT_FALSE(c.force_fa_decode_all);
  EXPECT_EQ(c.force_fa_decode_layers, (std::vector<int>{1, 3}));
  ASSERT_TRUE(parse_force_fa_decode("false", c).ok());
  EXPECT_FALSE(c.force_fa_decode_all);
  EXPECT_TRUE(c.force_fa_decode_layers.empty());
  EXPECT_FALSE(parse_force_fa_decode("maybe", c).ok());
}

}  // namespace
}  // namespace swaa
