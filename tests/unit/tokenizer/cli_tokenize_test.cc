// `swaa tokenize` end to end: plain text, --chat --no-think and --messages give the Hugging Face
// ids and rendered prompt of the fixtures; usage errors exit 1 with a message.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "tokenizer_fixture.h"

namespace swaa {
namespace {

struct CliRun {
  int rc;
  std::string out;
};

CliRun swaa_cli(const std::string& args) {
  const std::string cmd = std::string(SWAA_BINARY_DIR) + "/swaa tokenize " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = test::temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CliTokenize, PlainTextMatchesFixture) {
  const auto& strings = test::fixture("corpus.json")["strings"];
  for (const char* name : {"qwen3", "llama3", "llama2"}) {
    const auto& fx = test::fixture(std::string("encode_") + name + ".json");
    for (size_t i : {30u, 777u}) {
      const std::string file = write_temp("swaa_cli_in.txt", strings[i].get<std::string>());
      CliRun r = swaa_cli("-m " + test::npm_dir(name) + " -f " + file + " --json");
      ASSERT_EQ(r.rc, 0) << r.out;
      const auto j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j["ids"], fx["ids"][i]) << name << " string " << i;
      EXPECT_EQ(j["text"], strings[i]) << name << " string " << i;
    }
  }
  CliRun r = swaa_cli("-m " + test::npm_dir("qwen3") + " -p 'Hello world'");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, "9707 1879\n");
}

TEST(CliTokenize, ChatMatchesTransformers) {
  auto text = read_file(test::fixture_path("chat.json"));
  ASSERT_TRUE(text.ok());
  const auto fx = nlohmann::ordered_json::parse(*text);
  bool seen_no_think = false, seen_messages = false;
  for (const auto& c : fx["cases"]) {
    if (c.contains("error") || c["tools"].get<bool>() || !c["add_generation_prompt"].get<bool>()) continue;
    const std::string tname = c["template"];
    const auto& conv = fx["conversations"][c["conversation"].get<size_t>()];
    if (tname == "qwen3" && c["kwargs"].value("enable_thinking", true) == false && conv.size() == 1 &&
        conv[0]["role"] == "user" && !seen_no_think) {
      const std::string file = write_temp("swaa_cli_prompt.txt", conv[0]["content"].get<std::string>());
      CliRun r = swaa_cli("-m " + test::npm_dir("qwen3") + " -f " + file + " --chat --no-think --json");
      ASSERT_EQ(r.rc, 0) << r.out;
      const auto j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j["text"], c["text"]);
      EXPECT_EQ(j["ids"], c["ids"]);
      seen_no_think = true;
    }
    if (tname == "llama3" && conv.size() > 2 && !seen_messages) {
      CliRun r = swaa_cli("-m " + test::npm_dir("llama3") + " --messages " + write_temp("swaa_msgs.json", conv.dump()) +
                       " --json");
      ASSERT_EQ(r.rc, 0) << r.out;
      const auto j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j["text"], c["text"]);
      EXPECT_EQ(j["ids"], c["ids"]);
      seen_messages = true;
    }
  }
  EXPECT_TRUE(seen_no_think && seen_messages);
}

TEST(CliTokenize, Errors) {
  CliRun r = swaa_cli("-m " + test::npm_dir("qwen3"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("give one of -p TEXT, -f FILE or --messages FILE.json"), std::string::npos) << r.out;
  r = swaa_cli("-m " + test::npm_dir("llama2") + " -p hi --chat");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("no chat_template"), std::string::npos) << r.out;
  r = swaa_cli("-m " + test::npm_dir("qwen3") + " --messages " + write_temp("swaa_bad.json", "[{\"content\": 1}]"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("messages[0]: expected an object with a \"role\""), std::string::npos) << r.out;
  r = swaa_cli("-m " + test::npm_dir("qwen3") + " -f " + write_temp("swaa_bad.txt", "ok\xC3"));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("not valid UTF-8 (byte 0xC3 at offset 2)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace swaa
