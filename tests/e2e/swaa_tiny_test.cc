// The embedded default model models/swaa-tiny against the references Transformers and HF
// `tokenizers` produced for it on the GPU machine (tools/train/check_export.py, copied to
// tests/data/swaa_tiny/hf_reference.json): per-token log-probabilities of Qwen3ForCausalLM in fp32,
// token ids of plain texts, and chat prompts rendered by apply_chat_template with thinking on and
// off. Regenerate the reference whenever the model is retrained (models/swaa-tiny/MODEL_CARD.md).
#include <gtest/gtest.h>

#include "core/json_util.h"
#include "e2e/score_test_util.h"
#include "swaa/chat.h"
#include "swaa/score.h"
#include "swaa/tokenizer.h"

namespace swaa {
namespace {

const std::string kModel = std::string(SWAA_SOURCE_DIR) + "/models/swaa-tiny";
const std::string kReference = std::string(SWAA_TEST_DATA_DIR) + "/swaa_tiny/hf_reference.json";

nlohmann::json reference() {
  auto r = read_json_file(kReference);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nlohmann::json::object();
}

TEST(SwaaTiny, LogprobsMatchTransformers) {
  const nlohmann::json ref = reference();
  ASSERT_TRUE(ref.contains("tokens"));
  const auto tokens = ref["tokens"].get<std::vector<int32_t>>();
  const auto want = ref["logprobs_transformers"].get<std::vector<double>>();
  ScoreOptions opt;
  opt.model_dir = kModel;
  // Full attention: the split into prompt and generated tokens does not change the values; a long
  // prompt keeps the test fast (one prefill, 16 decode steps).
  opt.prompt_tokens = static_cast<int>(tokens.size()) - 16;
  opt.num_threads = 2;
  auto r = score_tokens(opt, tokens);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->logprobs.size(), want.size());
  // bf16 weights read into fp32 on both sides; fp32 rounding of a 17M-parameter forward pass.
  EXPECT_LT(testing::max_abs_diff(r->logprobs, want), 2e-4);
}

TEST(SwaaTiny, TokenizerMatchesHuggingFace) {
  const nlohmann::json ref = reference();
  auto tok = Tokenizer::from_dir(kModel);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  ASSERT_GE(ref["tokenizer_cases"].size(), 5u);
  for (const auto& c : ref["tokenizer_cases"]) {
    auto ids = tok->encode(c["text"].get<std::string>());
    ASSERT_TRUE(ids.ok()) << ids.status().message();
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>()) << c["text"];
  }
}

TEST(SwaaTiny, ChatTemplateMatchesTransformers) {
  const nlohmann::json ref = reference();
  auto tok = Tokenizer::from_dir(kModel);
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  ASSERT_GE(ref["chat_cases"].size(), 4u);
  for (const auto& c : ref["chat_cases"]) {
    ChatOptions options;
    options.enable_thinking = c["enable_thinking"].get<bool>();
    auto text = render_chat(*tok, c["messages"].dump(), options);
    ASSERT_TRUE(text.ok()) << text.status().message();
    EXPECT_EQ(*text, c["text"].get<std::string>());
    auto ids = tok->encode(*text);
    ASSERT_TRUE(ids.ok()) << ids.status().message();
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>());
  }
}

}  // namespace
}  // namespace swaa
