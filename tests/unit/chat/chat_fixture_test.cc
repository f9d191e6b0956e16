// Chat templates rendered by swaa equal Transformers' apply_chat_template byte for byte (and the
// rendered prompt encodes to the same ids) for every case in tests/data/tokenizer/chat.json:
// Qwen3 (thinking default/on/off), Qwen2.5, Llama 3, Llama 3.1, Llama 2 and a feature template.
#include <gtest/gtest.h>

#include <map>

#include "swaa/chat.h"
#include "tokenizer_fixture.h"

namespace swaa {
namespace {

using test::real_tokenizer;

// Key order matters to tojson: read the fixture with insertion order kept.
const nlohmann::ordered_json& chat_fixture() {
  static const nlohmann::ordered_json j = [] {
    auto text = read_file(test::fixture_path("chat.json"));
    if (!text.ok()) {
      ADD_FAILURE() << text.status().message();
      std::abort();
    }
    return nlohmann::ordered_json::parse(*text);
  }();
  return j;
}

TEST(ChatFixtures, MatchTransformers) {
  const auto& fx = chat_fixture();
  std::map<std::string, size_t> total, matched;
  for (const auto& c : fx["cases"]) {
    const std::string tname = c["template"], tokname = c["tokenizer"];
    const Tokenizer& tok = real_tokenizer(tokname);
    ChatOptions opt;
    opt.template_source = fx["templates"][tname].get<std::string>();
    opt.add_generation_prompt = c["add_generation_prompt"];
    if (c["tools"].get<bool>()) opt.tools_json = fx["tools"].dump();
    nlohmann::ordered_json extra = c["kwargs"];
    if (extra.contains("enable_thinking")) {
      opt.enable_thinking = extra["enable_thinking"].get<bool>();
      extra.erase("enable_thinking");
    }
    if (!extra.empty()) opt.extra_context_json = extra.dump();
    const std::string messages = fx["conversations"][c["conversation"].get<size_t>()].dump();
    auto r = render_chat(tok, messages, opt);
    ++total[tname];
    const std::string where = tname + " conversation " + std::to_string(c["conversation"].get<int>()) +
                              " agp=" + std::to_string(opt.add_generation_prompt) + " kwargs=" + c["kwargs"].dump();
    if (c.contains("error")) {
      EXPECT_FALSE(r.ok()) << where << " should fail like Transformers: " << c["error"];
      if (!r.ok()) {
        EXPECT_NE(r.status().message().find("Conversation roles must alternate"), std::string::npos)
            << r.status().message();
        ++matched[tname];
      }
      continue;
    }
    ASSERT_TRUE(r.ok()) << where << ": " << r.status().message();
    EXPECT_EQ(*r, c["text"].get<std::string>()) << where;
    auto ids = tok.encode(*r);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, c["ids"].get<std::vector<int32_t>>()) << where;
    if (*r == c["text"].get<std::string>() && *ids == c["ids"].get<std::vector<int32_t>>()) ++matched[tname];
  }
  for (const auto& [k, n] : total) std::printf("[chat] %s: %zu/%zu cases exact\n", k.c_str(), matched[k], n);
}

}  // namespace
}  // namespace swaa
