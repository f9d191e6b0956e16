// config.json parsing for every supported model_type and both rope layouts, with precise errors,
// and the RoPE inverse-frequency tables of each rope type.
#include "io/model_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

namespace swaa {
namespace {

using nlohmann::json;

json base_config(const std::string& type) {
  json j = {{"model_type", type}, {"vocab_size", 1000},      {"hidden_size", 64},
            {"num_hidden_layers", 4}, {"num_attention_heads", 8}, {"num_key_value_heads", 2},
            {"intermediate_size", 128}, {"rms_norm_eps", 1e-5},   {"max_position_embeddings", 4096}};
  return j;
}

TEST(ModelConfig, Qwen3ClassicLayout) {
  json j = base_config("qwen3");
  j["head_dim"] = 16;
  j["rope_theta"] = 1000000.0;
  j["tie_word_embeddings"] = true;
  auto c = ModelConfig::from_json(j, "cfg");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_TRUE(c->qk_norm);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_FALSE(c->attention_bias);
  EXPECT_EQ(c->rope.theta, 1e6);
  EXPECT_EQ(c->rope.type, RopeType::kDefault);
}

TEST(ModelConfig, Qwen2HasQkvBiasAndDerivedHeadDim) {
  auto c = ModelConfig::from_json(base_config("qwen2"), "cfg");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->head_dim, 8);
  EXPECT_TRUE(c->attention_bias);
  EXPECT_FALSE(c->attention_out_bias);
  EXPECT_FALSE(c->qk_norm);
}

TEST(ModelConfig, LlamaRopeParametersLayout) {
  json j = base_config("llama");
  j["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 8.0},
                          {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                          {"original_max_position_embeddings", 8192}};
  auto c = ModelConfig::from_json(j, "cfg");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->rope.type, RopeType::kLlama3);
  EXPECT_EQ(c->rope.theta, 500000.0);
  EXPECT_EQ(c->rope.original_max_position_embeddings, 8192);
}

TEST(ModelConfig, ClassicRopeScalingWithLegacyTypeKey) {
  json j = base_config("llama");
  j["rope_theta"] = 10000.0;
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  auto c = ModelConfig::from_json(j, "cfg");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->rope.type, RopeType::kLinear);
  EXPECT_EQ(c->rope.factor, 2.0);
}

TEST(ModelConfig, Qwen3MoeLayers) {
  json j = base_config("qwen3_moe");
  j["num_experts"] = 8;
  j["num_experts_per_tok"] = 2;
  j["moe_intermediate_size"] = 32;
  j["norm_topk_prob"] = true;
  j["mlp_only_layers"] = {1};
  j["decoder_sparse_step"] = 1;
  auto c = ModelConfig::from_json(j, "cfg");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->is_moe_layer(0));
  EXPECT_FALSE(c->is_moe_layer(1));
  EXPECT_TRUE(c->norm_topk_prob);
  j["num_experts_per_tok"] = 9;
  EXPECT_NE(ModelConfig::from_json(j, "cfg").status().message().find("num_experts_per_tok 9"), std::string::npos);
}

TEST(ModelConfig, Errors) {
  auto msg = [](const json& j) { return ModelConfig::from_json(j, "/m/config.json").status().message(); };
  json j = base_config("gpt2");
  EXPECT_EQ(ModelConfig::from_json(j, "x").status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(msg(j).find("model_type 'gpt2'"), std::string::npos);
  j = base_config("qwen3");
  j.erase("hidden_size");
  EXPECT_NE(msg(j).find("/m/config.json: missing required field 'hidden_size'"), std::string::npos);
  j = base_config("qwen3");
  j["num_key_value_heads"] = 3;
  EXPECT_NE(msg(j).find("not a multiple"), std::string::npos);
  j = base_config("qwen3");
  j["vocab_size"] = "many";
  EXPECT_NE(msg(j).find("'vocab_size' must be an integer, got \"many\""), std::string::npos);
  j = base_config("qwen3");
  j["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 2.0}};
  EXPECT_NE(msg(j).find("rope type 'longrope'"), std::string::npos);
  EXPECT_EQ(ModelConfig::load("/nonexistent").status().code(), StatusCode::kNotFound);
}

TEST(RopeTable, DefaultAndLinear) {
  json j = base_config("llama");  // head_dim 8
  j["rope_theta"] = 10000.0;
  auto c = ModelConfig::from_json(j, "cfg").value();
  RopeTable t = compute_rope_table(c);
  ASSERT_EQ(t.inv_freq.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(t.inv_freq[i], 1.0 / std::pow(10000.0, 2.0 * i / 8));
  EXPECT_EQ(t.attention_scaling, 1.0);
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 4.0}};
  RopeTable lin = compute_rope_table(ModelConfig::from_json(j, "cfg").value());
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(lin.inv_freq[i], t.inv_freq[i] / 4);
}

TEST(RopeTable, Llama3KeepsHighAndScalesLowFrequencies) {
  json j = base_config("llama");
  j["head_dim"] = 64;
  j["rope_parameters"] = {{"rope_type", "llama3"}, {"rope_theta", 500000.0}, {"factor", 8.0},
                          {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                          {"original_max_position_embeddings", 8192}};
  auto c = ModelConfig::from_json(j, "cfg").value();
  RopeTable t = compute_rope_table(c);
  for (int i = 0; i < 32; ++i) {
    const double base = 1.0 / std::pow(500000.0, 2.0 * i / 64);
    const double wavelen = 2 * std::numbers::pi / base;
    if (wavelen < 8192.0 / 4) {
      EXPECT_FLOAT_EQ(t.inv_freq[i], base) << i;
    } else if (wavelen > 8192.0) {
      EXPECT_FLOAT_EQ(t.inv_freq[i], base / 8) << i;
    } else {  // smoothed, strictly between
      EXPECT_LT(t.inv_freq[i], base);
      EXPECT_GT(t.inv_freq[i], base / 8);
    }
  }
}

TEST(RopeTable, YarnAttentionFactorAndRamp) {
  json j = base_config("qwen2");
  j["head_dim"] = 64;
  j["max_position_embeddings"] = 131072;
  j["rope_theta"] = 1000000.0;
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}};
  RopeTable t = compute_rope_table(ModelConfig::from_json(j, "cfg").value());
  EXPECT_NEAR(t.attention_scaling, 0.1 * std::log(4.0) + 1.0, 1e-12);
  // Highest frequency extrapolated (unchanged), lowest interpolated (divided by factor).
  EXPECT_FLOAT_EQ(t.inv_freq[0], 1.0f);
  EXPECT_FLOAT_EQ(t.inv_freq[31], static_cast<float>(1.0 / std::pow(1e6, 62.0 / 64) / 4));
}

}  // namespace
}  // namespace swaa
