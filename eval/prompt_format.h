// PromptFormat: how an EvalSample becomes the model's prompt tokens: one user message in the
// model's chat template (thinking on/off as asked) when the tokenizer has a template, else the raw
// text followed by the sample's answer prefix. Generators count lengths with it, so a target
// length is exact in the tokens the engine will see. Tests: tests/unit/eval/generators_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/eval_sample.h"
#include "swaa/status.h"
#include "swaa/tokenizer.h"

namespace swaa::eval {

class PromptFormat {
 public:
  // use_chat: apply the chat template when the tokenizer has one (false: always raw text).
  PromptFormat(Tokenizer tokenizer, bool use_chat, std::optional<bool> enable_thinking);

  bool chat() const { return chat_; }
  std::optional<bool> enable_thinking() const { return enable_thinking_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }

  // The exact text given to the tokenizer, and its token ids.
  Result<std::string> render(const EvalSample& sample) const;
  Result<std::vector<int32_t>> encode(const EvalSample& sample) const;
  Result<int> count(const EvalSample& sample) const;

 private:
  Tokenizer tokenizer_;
  bool chat_;
  std::optional<bool> enable_thinking_;
};

}  // namespace swaa::eval
