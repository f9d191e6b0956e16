// Chat-template or raw rendering of eval prompts (see prompt_format.h).
#include "eval/prompt_format.h"

#include <nlohmann/json.hpp>

#include "swaa/chat.h"

namespace swaa::eval {

PromptFormat::PromptFormat(Tokenizer tokenizer, bool use_chat, std::optional<bool> enable_thinking)
    : tokenizer_(std::move(tokenizer)),
      chat_(use_chat && !tokenizer_.config().chat_template.empty()),
      enable_thinking_(enable_thinking) {}

Result<std::string> PromptFormat::render(const EvalSample& sample) const {
  if (!chat_) {
    if (sample.answer_prefix.empty()) return sample.user_text;
    return sample.user_text + "\n" + sample.answer_prefix;
  }
  const std::string messages =
      nlohmann::json::array({{{"role", "user"}, {"content", sample.user_text}}}).dump();
  ChatOptions options;
  options.enable_thinking = enable_thinking_;
  return render_chat(tokenizer_, messages, options);
}

Result<std::vector<int32_t>> PromptFormat::encode(const EvalSample& sample) const {
  SWAA_ASSIGN_OR_RETURN(std::string text, render(sample));
  // A rendered chat template already holds its special tokens; raw text gets the post-processor's.
  return tokenizer_.encode(text, /*add_special_tokens=*/!chat_);
}

Result<int> PromptFormat::count(const EvalSample& sample) const {
  SWAA_ASSIGN_OR_RETURN(std::vector<int32_t> ids, encode(sample));
  return static_cast<int>(ids.size());
}

}  // namespace swaa::eval
