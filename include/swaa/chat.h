// Chat templates: renders a conversation with the model's Jinja chat template exactly as
// Transformers' apply_chat_template(tokenize=False) does (same context variables: messages, tools,
// documents, add_generation_prompt, bos/eos/unk/pad tokens, plus enable_thinking and any extra
// keyword arguments). Tests: tests/unit/chat/ (fixtures from tools/tokenizer_reference/).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "swaa/status.h"
#include "swaa/tokenizer.h"

namespace swaa {

struct ChatOptions {
  bool add_generation_prompt = true;
  std::optional<bool> enable_thinking;  // Qwen3: false renders an empty <think></think> block
  std::string tools_json;               // JSON array of tool schemas; "" = none (tools is None)
  std::string extra_context_json;       // JSON object of further template variables; "" = none
  std::string template_source;          // "" = the tokenizer's default chat template
};

// `messages_json`: a JSON array of {"role": ..., "content": ..., ...} objects.
// Errors: InvalidArgument naming the template line and construct, or the message the template
// raised (raise_exception); NotFound when the tokenizer has no chat template.
Result<std::string> render_chat(const Tokenizer& tokenizer, std::string_view messages_json,
                                const ChatOptions& options = {});

// Renders any template with a JSON object as its context (Transformers' Jinja settings).
Result<std::string> render_template(std::string_view source, std::string_view context_json);

}  // namespace swaa
