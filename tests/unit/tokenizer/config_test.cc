// tokenizer_config.json / generation_config.json reading (special tokens in both string and
// AddedToken form, add_bos_token, chat_template as string, list or chat_template.jinja, stop ids)
// and the errors for bad files: each names the file, the field and the value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tokenizer_fixture.h"

namespace swaa {
namespace {

namespace fs = std::filesystem;

// A directory holding the real Qwen3 tokenizer.json plus the given config files.
std::string make_dir(const std::string& name, const std::map<std::string, std::string>& files) {
  const fs::path dir = test::temp_path("tok_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(test::npm_dir("qwen3") + "/tokenizer.json", dir / "tokenizer.json");
  for (const auto& [file, text] : files) std::ofstream(dir / file) << text;
  return dir.string();
}

TEST(TokenizerConfig, RealFiles) {
  const auto& q = test::real_tokenizer("qwen3").config();
  EXPECT_FALSE(q.bos_token.has_value());
  EXPECT_EQ(q.eos_token.value_or(""), "<|im_end|>");
  EXPECT_EQ(q.eos_token_id.value_or(-1), 151645);
  EXPECT_EQ(q.pad_token_id.value_or(-1), 151643);
  EXPECT_FALSE(q.add_bos_token);
  EXPECT_NE(q.chat_template.find("enable_thinking"), std::string::npos);
  EXPECT_EQ(q.stop_token_ids, std::vector<int32_t>{151645});
  const auto& l2 = test::real_tokenizer("llama2").config();
  EXPECT_TRUE(l2.add_bos_token);
  EXPECT_EQ(l2.bos_token_id.value_or(-1), 1);
  EXPECT_TRUE(l2.chat_template.empty());
  EXPECT_EQ(test::real_tokenizer("llama3").config().bos_token_id.value_or(-1), 128000);
}

TEST(TokenizerConfig, AddedTokenFormListTemplatesAndGenerationConfig) {
  const std::string dir = make_dir("forms", {
      {"tokenizer_config.json", R"({"bos_token": {"__type": "AddedToken", "content": "<|endoftext|>"},
        "eos_token": "<|im_end|>", "add_bos_token": true,
        "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})"},
      {"generation_config.json", R"({"eos_token_id": [151645, 151643], "bos_token_id": 151643})"}});
  auto t = Tokenizer::from_dir(dir);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->config().bos_token_id.value_or(-1), 151643);
  EXPECT_TRUE(t->config().add_bos_token);
  EXPECT_EQ(t->config().chat_template, "D");
  EXPECT_EQ(t->config().named_chat_templates.at("tool_use"), "T");
  EXPECT_EQ(t->config().stop_token_ids, (std::vector<int32_t>{151645, 151643}));
}

TEST(TokenizerConfig, ChatTemplateJinjaFileWins) {
  const std::string dir = make_dir("jinja", {{"tokenizer_config.json", R"({"chat_template": "old"})"},
                                             {"chat_template.jinja", "new {{ messages | length }}"}});
  auto t = Tokenizer::from_dir(dir);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->config().chat_template, "new {{ messages | length }}");
}

TEST(TokenizerConfig, ChatTemplateJsonFallback) {
  const std::string dir = make_dir("tjson", {{"chat_template.json", R"({"chat_template": "from json"})"}});
  auto t = Tokenizer::from_dir(dir);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->config().chat_template, "from json");
}

void expect_load_error(const std::string& name, const std::map<std::string, std::string>& files,
                       const std::string& needle) {
  auto t = Tokenizer::from_dir(make_dir(name, files));
  ASSERT_FALSE(t.ok()) << name;
  EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
}

TEST(TokenizerConfig, ErrorsNameFileFieldAndValue) {
  expect_load_error("bad_eos", {{"tokenizer_config.json", R"({"eos_token": 5})"}}, "field \"eos_token\" must be a string");
  expect_load_error("unknown_eos", {{"tokenizer_config.json", R"({"eos_token": "<nope>"})"}},
                    "eos_token \"<nope>\" is not in tokenizer.json");
  expect_load_error("bad_flag", {{"tokenizer_config.json", R"({"add_bos_token": "yes"})"}},
                    "field \"add_bos_token\" must be true or false");
  expect_load_error("bad_gen", {{"generation_config.json", R"({"eos_token_id": "x"})"}},
                    "generation_config.json: eos_token_id must be a non-negative integer");
  expect_load_error("bad_json", {{"tokenizer_config.json", "{oops"}}, "tokenizer_config.json: invalid JSON");
  auto missing = Tokenizer::from_dir(::testing::TempDir() + "/swaa_no_such_dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no such directory"), std::string::npos);
}

Result<Tokenizer> load_json(const std::string& name, const nlohmann::json& j) {
  const std::string path = test::temp_path("tj_" + name + ".json");
  std::ofstream(path) << j.dump();
  return Tokenizer::from_files(path);
}

TEST(TokenizerJson, UnsupportedPartsAreNamed) {
  const nlohmann::json base = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}}},
                                          {"merges", {"a b"}}}}};
  auto ok = load_json("ok", base);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  auto ids = ok->encode("abab");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<int32_t>{2, 2}));  // no pre-tokenizer: one word; "a b" merges twice
  auto j = base;
  j["normalizer"] = {{"type", "BertNormalizer"}};
  auto r = load_json("bert", j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("normalizer type \"BertNormalizer\" is not supported"), std::string::npos);
  j = base;
  j["model"]["type"] = "Unigram";
  r = load_json("unigram", j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model type \"Unigram\" is not supported"), std::string::npos);
  j = base;
  j["model"]["merges"] = {"a c"};
  r = load_json("badmerge", j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model.merges[0]"), std::string::npos);
  j = base;
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  r = load_json("badregex", j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("(unclosed"), std::string::npos);
}

}  // namespace
}  // namespace swaa
