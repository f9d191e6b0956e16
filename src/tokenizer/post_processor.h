// tokenizer.json "post_processor" for single sequences: TemplateProcessing, ByteLevel (no change to
// ids), BertProcessing, RobertaProcessing and Sequence. Used when add_special_tokens is requested.
// Tests: the fixture parity test (ids_with_special_first64).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "swaa/status.h"

namespace swaa::tok {

class PostProcessor {
 public:
  static Result<PostProcessor> from_json(const nlohmann::json& spec);
  std::vector<int32_t> apply(std::vector<int32_t> ids) const;

 private:
  // Each step wraps the ids: prefix + ids + suffix.
  struct Step {
    std::vector<int32_t> prefix, suffix;
  };
  static Status add(const nlohmann::json& spec, std::vector<Step>& steps);
  std::vector<Step> steps_;
};

}  // namespace swaa::tok
