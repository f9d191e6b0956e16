// config.json -> ModelConfig, and the RoPE inverse-frequency table (default, linear, llama3, yarn)
// computed exactly as Transformers' modeling_rope_utils does.
#include "io/model_config.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <nlohmann/json.hpp>
#include <numbers>

#include "core/json_util.h"

namespace swaa {
namespace {

using nlohmann::json;

class FieldReader {
 public:
  FieldReader(const json& j, std::string source) : j_(j), source_(std::move(source)) {}

  Result<int> get_int(const char* field, std::optional<int> fallback = std::nullopt) const {
    if (!j_.contains(field) || j_[field].is_null()) {
      if (fallback) return *fallback;
      return invalid_argument(source_ + ": missing required field '" + field + "'");
    }
    const json& v = j_[field];
    if (!v.is_number_integer()) {
      return invalid_argument(source_ + ": field '" + field + "' must be an integer, got " + json_snippet(v));
    }
    return v.get<int>();
  }
  Result<int> get_positive(const char* field, std::optional<int> fallback = std::nullopt) const {
    SWAA_ASSIGN_OR_RETURN(int v, get_int(field, fallback));
    if (v <= 0) {
      return invalid_argument(source_ + ": field '" + field + "' must be positive, got " + std::to_string(v));
    }
    return v;
  }
  Result<double> get_double(const char* field, std::optional<double> fallback = std::nullopt) const {
    if (!j_.contains(field) || j_[field].is_null()) {
      if (fallback) return *fallback;
      return invalid_argument(source_ + ": missing required field '" + field + "'");
    }
    const json& v = j_[field];
    if (!v.is_number()) {
      return invalid_argument(source_ + ": field '" + field + "' must be a number, got " + json_snippet(v));
    }
    return v.get<double>();
  }
  Result<bool> get_bool(const char* field, bool fallback) const {
    if (!j_.contains(field) || j_[field].is_null()) return fallback;
    const json& v = j_[field];
    if (!v.is_boolean()) {
      return invalid_argument(source_ + ": field '" + field + "' must be true or false, got " + json_snippet(v));
    }
    return v.get<bool>();
  }

 private:
  const json& j_;
  std::string source_;
};

Result<RopeConfig> parse_rope(const json& j, const std::string& source) {
  RopeConfig rope;
  // Transformers 5 writes `rope_parameters` (holding rope_theta); older configs write
  // `rope_theta` at top level plus an optional `rope_scaling` dict.
  const json* params = nullptr;
  std::string where = source;
  if (j.contains("rope_parameters") && !j["rope_parameters"].is_null()) {
    params = &j["rope_parameters"];
    where = source + ": rope_parameters";
  } else if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    params = &j["rope_scaling"];
    where = source + ": rope_scaling";
  }
  if (params != nullptr && !params->is_object()) {
    return invalid_argument(where + " must be an object, got " + json_snippet(*params));
  }
  FieldReader top(j, source);
  SWAA_ASSIGN_OR_RETURN(rope.theta, top.get_double("rope_theta", 10000.0));
  if (params == nullptr) return rope;

  FieldReader p(*params, where);
  SWAA_ASSIGN_OR_RETURN(rope.theta, p.get_double("rope_theta", rope.theta));
  std::string type = "default";
  for (const char* key : {"rope_type", "type"}) {
    if (params->contains(key) && (*params)[key].is_string()) {
      type = (*params)[key].get<std::string>();
      break;
    }
  }
  if (type == "default") {
    rope.type = RopeType::kDefault;
    return rope;
  }
  SWAA_ASSIGN_OR_RETURN(rope.factor, p.get_double("factor"));
  if (rope.factor <= 0) return invalid_argument(where + ": 'factor' must be positive, got " + std::to_string(rope.factor));
  SWAA_ASSIGN_OR_RETURN(rope.original_max_position_embeddings, p.get_int("original_max_position_embeddings", 0));
  if (type == "linear") {
    rope.type = RopeType::kLinear;
  } else if (type == "llama3") {
    rope.type = RopeType::kLlama3;
    SWAA_ASSIGN_OR_RETURN(rope.low_freq_factor, p.get_double("low_freq_factor"));
    SWAA_ASSIGN_OR_RETURN(rope.high_freq_factor, p.get_double("high_freq_factor"));
    if (rope.original_max_position_embeddings <= 0) {
      return invalid_argument(where + ": llama3 rope needs a positive 'original_max_position_embeddings'");
    }
    if (rope.high_freq_factor <= rope.low_freq_factor) {
      return invalid_argument(where + ": 'high_freq_factor' must exceed 'low_freq_factor'");
    }
  } else if (type == "yarn") {
    rope.type = RopeType::kYarn;
    SWAA_ASSIGN_OR_RETURN(rope.beta_fast, p.get_double("beta_fast", 32.0));
    SWAA_ASSIGN_OR_RETURN(rope.beta_slow, p.get_double("beta_slow", 1.0));
    SWAA_ASSIGN_OR_RETURN(rope.attention_factor, p.get_double("attention_factor", 0.0));
    SWAA_ASSIGN_OR_RETURN(rope.mscale, p.get_double("mscale", 0.0));
    SWAA_ASSIGN_OR_RETURN(rope.mscale_all_dim, p.get_double("mscale_all_dim", 0.0));
    SWAA_ASSIGN_OR_RETURN(rope.truncate, p.get_bool("truncate", true));
  } else {
    return unimplemented(where + ": rope type '" + type +
                         "' is not supported (supported: default, linear, llama3, yarn)");
  }
  return rope;
}

Result<std::vector<int>> parse_int_list(const json& j, const char* field, const std::string& source) {
  std::vector<int> out;
  if (!j.contains(field) || j[field].is_null()) return out;
  if (!j[field].is_array()) return invalid_argument(source + ": field '" + field + "' must be a list of integers");
  for (const json& v : j[field]) {
    if (!v.is_number_integer()) {
      return invalid_argument(source + ": field '" + field + "' holds " + json_snippet(v) + ", expected integers");
    }
    out.push_back(v.get<int>());
  }
  return out;
}

}  // namespace

bool ModelConfig::is_moe_layer(int layer_idx) const {
  if (num_experts == 0) return false;
  for (int l : mlp_only_layers) {
    if (l == layer_idx) return false;
  }
  return (layer_idx + 1) % decoder_sparse_step == 0;
}

Result<ModelConfig> ModelConfig::load(const std::string& dir) {
  const std::string path = dir + "/config.json";
  SWAA_ASSIGN_OR_RETURN(json j, read_json_file(path));
  return from_json(j, path);
}

Result<ModelConfig> ModelConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) return invalid_argument(source + ": expected a JSON object");
  ModelConfig c;
  if (!j.contains("model_type") || !j["model_type"].is_string()) {
    return invalid_argument(source + ": missing string field 'model_type'");
  }
  c.model_type = j["model_type"].get<std::string>();
  if (c.model_type != "qwen3" && c.model_type != "qwen3_moe" && c.model_type != "qwen2" &&
      c.model_type != "llama") {
    return unimplemented(source + ": model_type '" + c.model_type +
                         "' is not supported (supported: qwen3, qwen3_moe, qwen2, llama)");
  }
  FieldReader r(j, source);
  SWAA_ASSIGN_OR_RETURN(c.vocab_size, r.get_positive("vocab_size"));
  SWAA_ASSIGN_OR_RETURN(c.hidden_size, r.get_positive("hidden_size"));
  SWAA_ASSIGN_OR_RETURN(c.num_layers, r.get_positive("num_hidden_layers"));
  SWAA_ASSIGN_OR_RETURN(c.num_heads, r.get_positive("num_attention_heads"));
  SWAA_ASSIGN_OR_RETURN(c.num_kv_heads, r.get_positive("num_key_value_heads", c.num_heads));
  if (c.num_heads % c.num_kv_heads != 0) {
    return invalid_argument(source + ": num_attention_heads " + std::to_string(c.num_heads) +
                            " is not a multiple of num_key_value_heads " + std::to_string(c.num_kv_heads));
  }
  if (c.hidden_size % c.num_heads != 0 && !(j.contains("head_dim") && !j["head_dim"].is_null())) {
    return invalid_argument(source + ": hidden_size is not a multiple of num_attention_heads and no head_dim is given");
  }
  SWAA_ASSIGN_OR_RETURN(c.head_dim, r.get_positive("head_dim", c.hidden_size / c.num_heads));
  if (c.head_dim % 2 != 0) {
    return invalid_argument(source + ": head_dim must be even for rotary embeddings, got " + std::to_string(c.head_dim));
  }
  SWAA_ASSIGN_OR_RETURN(c.max_position_embeddings, r.get_positive("max_position_embeddings", 1 << 20));
  SWAA_ASSIGN_OR_RETURN(c.rms_norm_eps, r.get_double("rms_norm_eps", 1e-6));
  SWAA_ASSIGN_OR_RETURN(c.tie_word_embeddings, r.get_bool("tie_word_embeddings", false));
  SWAA_ASSIGN_OR_RETURN(bool attention_bias, r.get_bool("attention_bias", false));
  SWAA_ASSIGN_OR_RETURN(c.mlp_bias, r.get_bool("mlp_bias", false));
  if (c.model_type == "qwen2") {
    c.attention_bias = true;  // Qwen2 always has q/k/v biases and no o_proj bias.
    c.attention_out_bias = false;
  } else {
    c.attention_bias = attention_bias;
    c.attention_out_bias = attention_bias;
  }
  c.qk_norm = c.model_type == "qwen3" || c.model_type == "qwen3_moe";
  if (c.model_type != "qwen3_moe") {
    SWAA_ASSIGN_OR_RETURN(c.intermediate_size, r.get_positive("intermediate_size"));
  } else {
    // Hub configs say num_experts; Transformers 5 writes num_local_experts.
    const char* experts_key = j.contains("num_experts") ? "num_experts" : "num_local_experts";
    SWAA_ASSIGN_OR_RETURN(c.num_experts, r.get_positive(experts_key));
    SWAA_ASSIGN_OR_RETURN(c.num_experts_per_tok, r.get_positive("num_experts_per_tok"));
    if (c.num_experts_per_tok > c.num_experts) {
      return invalid_argument(source + ": num_experts_per_tok " + std::to_string(c.num_experts_per_tok) +
                              " exceeds num_experts " + std::to_string(c.num_experts));
    }
    SWAA_ASSIGN_OR_RETURN(c.moe_intermediate_size, r.get_positive("moe_intermediate_size"));
    SWAA_ASSIGN_OR_RETURN(c.norm_topk_prob, r.get_bool("norm_topk_prob", false));
    SWAA_ASSIGN_OR_RETURN(c.decoder_sparse_step, r.get_positive("decoder_sparse_step", 1));
    SWAA_ASSIGN_OR_RETURN(c.mlp_only_layers, parse_int_list(j, "mlp_only_layers", source));
    bool any_dense = false;
    for (int l = 0; l < c.num_layers; ++l) any_dense |= !c.is_moe_layer(l);
    SWAA_ASSIGN_OR_RETURN(c.intermediate_size, r.get_int("intermediate_size", 0));
    if (any_dense && c.intermediate_size <= 0) {
      return invalid_argument(source + ": some layers use a dense MLP but 'intermediate_size' is missing");
    }
  }
  SWAA_ASSIGN_OR_RETURN(c.rope, parse_rope(j, source));
  return c;
}

RopeTable compute_rope_table(const ModelConfig& config) {
  const RopeConfig& rope = config.rope;
  const int dim = config.head_dim;
  const int half = dim / 2;
  RopeTable table;
  table.inv_freq.resize(half);
  std::vector<double> inv(half);
  for (int i = 0; i < half; ++i) inv[i] = 1.0 / std::pow(rope.theta, (2.0 * i) / dim);

  switch (rope.type) {
    case RopeType::kDefault:
      break;
    case RopeType::kLinear:
      for (double& f : inv) f /= rope.factor;
      break;
    case RopeType::kLlama3: {
      const double old_ctx = rope.original_max_position_embeddings;
      const double low_wavelen = old_ctx / rope.low_freq_factor;
      const double high_wavelen = old_ctx / rope.high_freq_factor;
      for (double& f : inv) {
        const double wavelen = 2.0 * std::numbers::pi / f;
        if (wavelen < high_wavelen) continue;  // high frequency: unchanged
        if (wavelen > low_wavelen) {
          f /= rope.factor;  // low frequency: interpolated
          continue;
        }
        const double smooth = (old_ctx / wavelen - rope.low_freq_factor) /
                              (rope.high_freq_factor - rope.low_freq_factor);
        f = (1.0 - smooth) * f / rope.factor + smooth * f;
      }
      break;
    }
    case RopeType::kYarn: {
      double factor = rope.factor;
      double original = config.max_position_embeddings;
      if (rope.original_max_position_embeddings > 0) {
        original = rope.original_max_position_embeddings;
        factor = config.max_position_embeddings / original;
      }
      auto get_mscale = [](double scale, double m) { return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; };
      double attention = rope.attention_factor;
      if (attention == 0.0) {
        attention = (rope.mscale != 0 && rope.mscale_all_dim != 0)
                        ? get_mscale(factor, rope.mscale) / get_mscale(factor, rope.mscale_all_dim)
                        : get_mscale(factor, 1.0);
      }
      table.attention_scaling = attention;
      auto correction_dim = [&](double rotations) {
        return (dim * std::log(original / (rotations * 2 * std::numbers::pi))) / (2 * std::log(rope.theta));
      };
      double low = correction_dim(rope.beta_fast), high = correction_dim(rope.beta_slow);
      if (rope.truncate) {
        low = std::floor(low);
        high = std::ceil(high);
      }
      low = std::max(low, 0.0);
      high = std::min(high, static_cast<double>(dim - 1));
      if (low == high) high += 0.001;
      for (int i = 0; i < half; ++i) {
        // Transformers computes the ramp in fp32; mirror that rounding.
        const float ramp = std::clamp(static_cast<float>((i - low) / (high - low)), 0.0f, 1.0f);
        const double extrapolation_factor = 1.0 - ramp;
        const double extrapolation = inv[i];
        const double interpolation = inv[i] / factor;
        inv[i] = interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
      }
      break;
    }
  }
  for (int i = 0; i < half; ++i) table.inv_freq[i] = static_cast<float>(inv[i]);
  return table;
}

}  // namespace swaa
