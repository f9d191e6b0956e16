// The server over raw HTTP, in process: response shapes (whole and SSE), sampling fields, every
// error in OpenAI's shape with its status, queue full, per-request SWAA settings, API keys, and a
// client that hangs up mid-stream (its request is aborted and its KV freed, seen in /metrics);
// logprobs in both OpenAI shapes, whole and streamed, equal to the score API's.
#include <atomic>
#include <random>

#include "server/openai_logprobs.h"
#include "swaa/chat.h"
#include "swaa/score.h"

#include "server/server_test_util.h"

namespace swaa::server {
namespace {

using nlohmann::json;
using namespace testing;

class ServerHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new std::string(write_test_model("server_http_model"));
    server_ = new RunningServer(start_server(test_options(*model_)));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete model_;
  }
  static void expect_error(const HttpReply& r, int status, const std::string& needle, const std::string& param = "") {
    EXPECT_EQ(r.status, status) << r.body;
    json j = r.json();
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
    const json& e = j["error"];
    for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(e.contains(k)) << k << " missing: " << r.body;
    EXPECT_NE(e["message"].get<std::string>().find(needle), std::string::npos) << r.body;
    if (!param.empty()) {
      EXPECT_EQ(e["param"], param) << r.body;
    }
  }
  static std::string* model_;
  static RunningServer* server_;
};
std::string* ServerHttp::model_ = nullptr;
RunningServer* ServerHttp::server_ = nullptr;

TEST_F(ServerHttp, CompletionWholeResponse) {
  HttpReply r = post(*server_, "/v1/completions",
                     R"({"model": "test-model", "prompt": "hello", "max_tokens": 5, "temperature": 0, "ignore_eos": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json();
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["model"], "test-model");
  EXPECT_EQ(j["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(j["choices"][0]["text"].is_string());
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);  // the byte tokenizer: one token per byte
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
  EXPECT_EQ(j["usage"]["total_tokens"], 10);
}

TEST_F(ServerHttp, GreedyIsDeterministicAndSeedsReproduce) {
  const std::string greedy = R"({"prompt": [1, 2, 3, 4], "max_tokens": 8, "temperature": 0, "ignore_eos": true})";
  EXPECT_EQ(post(*server_, "/v1/completions", greedy).json()["choices"][0]["text"],
            post(*server_, "/v1/completions", greedy).json()["choices"][0]["text"]);
  const std::string seeded = R"({"prompt": "abc", "max_tokens": 8, "temperature": 1.0, "seed": 11, "n": 3, "ignore_eos": true})";
  json a = post(*server_, "/v1/completions", seeded).json(), b = post(*server_, "/v1/completions", seeded).json();
  ASSERT_EQ(a["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a["choices"][i]["index"], i);
    EXPECT_EQ(a["choices"][i]["text"], b["choices"][i]["text"]);
  }
  EXPECT_EQ(a["usage"]["prompt_tokens"], 3);  // counted once for n choices
  EXPECT_EQ(a["usage"]["completion_tokens"], 24);
}

TEST_F(ServerHttp, BatchOfPromptsAndTokenIds) {
  json j = post(*server_, "/v1/completions", R"({"prompt": ["ab", "cde"], "max_tokens": 3, "ignore_eos": true, "n": 2})").json();
  ASSERT_EQ(j["choices"].size(), 4u);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
  j = post(*server_, "/v1/completions", R"({"prompt": [[1, 2], [3, 4, 5]], "max_tokens": 2, "ignore_eos": true})").json();
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
}

TEST_F(ServerHttp, ChatCompletion) {
  HttpReply r = post(*server_, "/v1/chat/completions",
                     R"({"model": "test-model", "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": [{"type": "text", "text": "hi"}]}], "max_tokens": 4, "ignore_eos": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string());
  EXPECT_EQ(j["usage"]["completion_tokens"], 4);
  // The conversation as the chat template renders it, one token per byte plus the ChatML specials.
  auto tok = Tokenizer::from_dir(*model_);
  ASSERT_TRUE(tok.ok());
  auto rendered = render_chat(*tok, R"([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])");
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(j["usage"]["prompt_tokens"], tok->encode(*rendered)->size());
}

TEST_F(ServerHttp, StopStringEndsTheChoice) {
  // Greedy text of this prompt, then the same request with one of its ASCII characters as a stop string.
  const json base = {{"prompt", "xyz"}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}};
  const std::string text = post(*server_, "/v1/completions", base.dump()).json()["choices"][0]["text"];
  size_t i = 1;
  while (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x80) ++i;
  ASSERT_LT(i, text.size()) << "no ASCII character in the greedy text to stop at";
  const std::string stop = text.substr(i, 1);
  json req = base;
  req["stop"] = json::array({stop, "never-seen"});
  json j = post(*server_, "/v1/completions", req.dump()).json();
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["choices"][0]["text"].get<std::string>(), text.substr(0, text.find(stop)));
}

TEST_F(ServerHttp, StreamingCompletionAndChat) {
  std::vector<json> events;
  bool done = false;
  int status = post_stream(*server_, "/v1/completions",
                           R"({"prompt": "hello", "max_tokens": 6, "stream": true, "ignore_eos": true,
                               "stream_options": {"include_usage": true}})",
                           [&](const std::string& e) {
                             if (e == "[DONE]") done = true;
                             else events.push_back(json::parse(e));
                             return true;
                           });
  ASSERT_EQ(status, 200);
  ASSERT_TRUE(done);
  ASSERT_GE(events.size(), 2u);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i]["object"], "text_completion");
    text += events[i]["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(events[events.size() - 2]["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(events.back()["choices"].empty());
  EXPECT_EQ(events.back()["usage"]["completion_tokens"], 6);
  json whole = post(*server_, "/v1/completions", R"({"prompt": "hello", "max_tokens": 6, "temperature": 0, "ignore_eos": true})").json();
  std::string greedy_text;
  post_stream(*server_, "/v1/completions", R"({"prompt": "hello", "max_tokens": 6, "temperature": 0, "ignore_eos": true, "stream": true})",
              [&](const std::string& e) {
                if (e != "[DONE]") greedy_text += json::parse(e)["choices"][0]["text"].get<std::string>();
                return true;
              });
  EXPECT_EQ(greedy_text, whole["choices"][0]["text"]);

  events.clear();
  done = false;
  status = post_stream(*server_, "/v1/chat/completions",
                       R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": true, "ignore_eos": true, "n": 2})",
                       [&](const std::string& e) {
                         if (e == "[DONE]") done = true;
                         else events.push_back(json::parse(e));
                         return true;
                       });
  ASSERT_EQ(status, 200);
  ASSERT_TRUE(done);
  int roles = 0, finished = 0;
  for (const json& e : events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    const json& c = e["choices"][0];
    if (c["delta"].contains("role")) ++roles;
    if (!c["finish_reason"].is_null()) ++finished;
  }
  EXPECT_EQ(roles, 2);
  EXPECT_EQ(finished, 2);
}

// The generated token ids of a chat logprobs object (byte tokenizer: a byte's token has that one
// byte; special tokens are found by name; ids beyond the tokenizer are named "token_id:N").
std::vector<int32_t> ids_of(const json& content, const Tokenizer& tok) {
  std::vector<int32_t> ids;
  for (const json& e : content) {
    const std::string token = e["token"];
    if (e["bytes"].is_null()) ids.push_back(std::stoi(token.substr(std::string("token_id:").size())));
    else if (e["bytes"].size() == 1) ids.push_back(e["bytes"][0].get<int>());
    else ids.push_back(tok.token_to_id(token).value_or(-1));
  }
  return ids;
}

// Concatenates the logprobs objects of a stream's chunks (choice 0) into one whole-response object.
json join_stream_logprobs(const std::vector<json>& events, bool chat) {
  json all = chat ? json{{"content", json::array()}}
                  : json{{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
                         {"text_offset", json::array()}};
  for (const json& e : events) {
    if (e["choices"].empty() || e["choices"][0]["logprobs"].is_null()) continue;
    const json& lp = e["choices"][0]["logprobs"];
    for (auto it = all.begin(); it != all.end(); ++it) {
      for (const json& x : lp[it.key()]) it.value().push_back(x);
    }
  }
  return all;
}

TEST_F(ServerHttp, LogprobsCompletionsWholeAndStreamed) {
  const json req = {{"prompt", json::array({5, 6, 7, 8, 9, 10})}, {"max_tokens", 9}, {"temperature", 0},
                    {"ignore_eos", true}, {"logprobs", 3}};
  HttpReply r = post(*server_, "/v1/completions", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json choice = r.json()["choices"][0];
  const json lp = choice["logprobs"];
  ASSERT_TRUE(lp.is_object()) << r.body;
  for (const char* k : {"tokens", "token_logprobs", "top_logprobs", "text_offset"}) {
    ASSERT_EQ(lp[k].size(), 9u) << k << ": " << r.body;
  }
  for (size_t i = 0; i < 9; ++i) {
    const double chosen = lp["token_logprobs"][i];
    EXPECT_LE(chosen, 0.0);
    const json& top = lp["top_logprobs"][i];
    // The 3 most likely plus the chosen token (greedy: it is the most likely), keyed by token text.
    EXPECT_GE(top.size(), 1u);
    EXPECT_LE(top.size(), 4u);
    ASSERT_TRUE(top.contains(lp["tokens"][i].get<std::string>())) << top;
    EXPECT_EQ(top[lp["tokens"][i].get<std::string>()].get<double>(), chosen);
    for (auto it = top.begin(); it != top.end(); ++it) EXPECT_LE(it.value().get<double>(), chosen) << top;
    if (i > 0) {
      EXPECT_GE(lp["text_offset"][i], lp["text_offset"][i - 1]);
    }
  }
  EXPECT_EQ(lp["text_offset"][0], 0);
  // Streamed: the chunks' logprobs, joined, are the whole response's.
  json sreq = req;
  sreq["stream"] = true;
  std::vector<json> events;
  post_stream(*server_, "/v1/completions", sreq.dump(), [&](const std::string& e) {
    if (e != "[DONE]") events.push_back(json::parse(e));
    return true;
  });
  const json joined = join_stream_logprobs(events, false);
  EXPECT_EQ(joined["tokens"], lp["tokens"]);
  EXPECT_EQ(joined["text_offset"], lp["text_offset"]);
  ASSERT_EQ(joined["token_logprobs"].size(), 9u);
  for (size_t i = 0; i < 9; ++i) EXPECT_NEAR(joined["token_logprobs"][i].get<double>(), lp["token_logprobs"][i].get<double>(), 1e-9);
  for (const json& e : events) {
    const json& c = e["choices"][0];
    if (!c["logprobs"].is_null()) {
      EXPECT_FALSE(c["logprobs"]["tokens"].empty());  // no empty logprobs objects
    }
  }
  // Without logprobs the field stays null.
  EXPECT_TRUE(post(*server_, "/v1/completions", R"({"prompt": "a", "max_tokens": 2})").json()["choices"][0]["logprobs"].is_null());
}

// Chat logprobs against the score API on the same tokens (prompt + generated), and streamed == whole.
TEST_F(ServerHttp, LogprobsChatMatchScoreAndStream) {
  const json req = {{"messages", json::array({{{"role", "user"}, {"content", "hi there"}}})}, {"max_tokens", 10},
                    {"temperature", 0}, {"ignore_eos", true}, {"logprobs", true}, {"top_logprobs", 2}};
  HttpReply r = post(*server_, "/v1/chat/completions", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json content = r.json()["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 10u) << r.body;
  auto tok = Tokenizer::from_dir(*model_);
  ASSERT_TRUE(tok.ok());
  const std::vector<int32_t> generated = ids_of(content, *tok);
  auto rendered = render_chat(*tok, R"([{"role": "user", "content": "hi there"}])");
  ASSERT_TRUE(rendered.ok());
  std::vector<int32_t> all = tok->encode(*rendered).value();
  const int prompt_len = static_cast<int>(all.size());
  all.insert(all.end(), generated.begin(), generated.end());
  ScoreOptions so;
  so.model_dir = *model_;
  so.swaa = test_options(*model_).worker.engine.swaa;
  so.prompt_tokens = prompt_len;
  so.num_threads = 1;
  so.block_size = 4;
  auto score = score_tokens(so, all);
  ASSERT_TRUE(score.ok()) << score.status().message();
  for (size_t i = 0; i < content.size(); ++i) {
    const json& e = content[i];
    EXPECT_NEAR(e["logprob"].get<double>(), score->logprobs[prompt_len - 1 + i], 1e-4) << "token " << i;
    ASSERT_EQ(e["top_logprobs"].size(), 2u);
    EXPECT_EQ(e["top_logprobs"][0]["token"], e["token"]);  // greedy: the chosen token ranks first
    EXPECT_EQ(e["top_logprobs"][0]["bytes"], e["bytes"]);
    EXPECT_EQ(e["top_logprobs"][0]["logprob"], e["logprob"]);
    EXPECT_GE(e["top_logprobs"][0]["logprob"].get<double>(), e["top_logprobs"][1]["logprob"].get<double>());
  }
  json sreq = req;
  sreq["stream"] = true;
  std::vector<json> events;
  post_stream(*server_, "/v1/chat/completions", sreq.dump(), [&](const std::string& e) {
    if (e != "[DONE]") events.push_back(json::parse(e));
    return true;
  });
  const json joined = join_stream_logprobs(events, true)["content"];
  ASSERT_EQ(joined.size(), content.size());
  // The role opens the choice in a chunk of its own, without logprobs (as OpenAI sends it).
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(events[0]["choices"][0]["logprobs"].is_null());
  for (const json& e : events) {
    if (!e["choices"].empty() && e["choices"][0]["delta"].contains("role")) {
      EXPECT_TRUE(e["choices"][0]["logprobs"].is_null()) << e;
    }
  }
  for (size_t i = 0; i < content.size(); ++i) {
    EXPECT_EQ(joined[i]["token"], content[i]["token"]);
    EXPECT_EQ(joined[i]["bytes"], content[i]["bytes"]);
    EXPECT_NEAR(joined[i]["logprob"].get<double>(), content[i]["logprob"].get<double>(), 1e-9);
  }
  // logprobs: true alone gives the chosen token with an empty top_logprobs list.
  json only = req;
  only.erase("top_logprobs");
  const json c0 = post(*server_, "/v1/chat/completions", only.dump()).json()["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(c0.size(), 10u);
  EXPECT_TRUE(c0[0]["top_logprobs"].is_array() && c0[0]["top_logprobs"].empty());
  EXPECT_EQ(c0[0]["token"], content[0]["token"]);
}

// A stop string holds text back while tokens keep coming: every token's logprob still arrives,
// with the chunk that carries its text, and the count equals usage.completion_tokens.
TEST_F(ServerHttp, LogprobsStreamedWithStopStrings) {
  const json base = {{"prompt", "xyz"}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}};
  const std::string text = post(*server_, "/v1/completions", base.dump()).json()["choices"][0]["text"];
  size_t i = 1;
  while (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x80) ++i;
  ASSERT_LT(i, text.size()) << "no ASCII character in the greedy text to stop at";
  for (const std::string& stop : {text.substr(i, 1) + "never", text.substr(i, 1)}) {
    json req = base;
    req["stop"] = stop;
    req["logprobs"] = 1;
    req["stream"] = true;
    req["stream_options"] = {{"include_usage", true}};
    std::vector<json> events;
    post_stream(*server_, "/v1/completions", req.dump(), [&](const std::string& e) {
      if (e != "[DONE]") events.push_back(json::parse(e));
      return true;
    });
    ASSERT_FALSE(events.empty());
    const json joined = join_stream_logprobs(events, false);
    EXPECT_EQ(joined["tokens"].size(), events.back()["usage"]["completion_tokens"].get<size_t>()) << stop;
    json whole_req = req;
    whole_req.erase("stream");
    whole_req.erase("stream_options");
    const json whole = post(*server_, "/v1/completions", whole_req.dump()).json()["choices"][0];
    EXPECT_EQ(joined["tokens"], whole["logprobs"]["tokens"]) << stop;
    EXPECT_EQ(joined["text_offset"], whole["logprobs"]["text_offset"]) << stop;
  }
}

// Token strings and bytes of tokens that hold part of a character, special and unknown tokens,
// and text_offset in characters of the text.
TEST(LogprobsFormatter, PartialCharactersSpecialAndUnknownTokens) {
  const std::string dir = swaa::testing::make_temp_dir("logprobs_tok");
  swaa::testing::write_byte_tokenizer(dir);
  auto tok = Tokenizer::from_dir(dir);
  ASSERT_TRUE(tok.ok());
  const std::vector<int32_t> ids = {'a', 0xC3, 0xA9, 'b', 258, 'c', 280};
  std::vector<SampleLogprobs> lps;
  for (int32_t id : ids) lps.push_back({-1.0 * (id % 7), {{id, -1.0 * (id % 7)}, {0xA9, -9.0}}});
  const std::string fffd = "\xEF\xBF\xBD";
  LogprobsFormatter chat(Endpoint::kChatCompletions, &*tok, true);
  const json c = json::parse(chat.format(ids, lps).dump())["content"];
  ASSERT_EQ(c.size(), ids.size());
  EXPECT_EQ(c[0]["token"], "a");
  EXPECT_EQ(c[0]["bytes"], json::array({97}));
  EXPECT_EQ(c[1]["token"], fffd);  // a lead byte alone: the string has U+FFFD, bytes the raw byte
  EXPECT_EQ(c[1]["bytes"], json::array({0xC3}));
  EXPECT_EQ(c[2]["bytes"], json::array({0xA9}));
  EXPECT_EQ(c[4]["token"], "<|im_end|>");
  EXPECT_EQ(c[4]["bytes"].size(), std::string("<|im_end|>").size());
  EXPECT_EQ(c[6]["token"], "token_id:280");  // beyond the tokenizer's vocabulary
  EXPECT_TRUE(c[6]["bytes"].is_null());
  EXPECT_EQ(c[1]["top_logprobs"][1]["token"], fffd);
  EXPECT_EQ(c[1]["top_logprobs"][1]["bytes"], json::array({0xA9}));
  EXPECT_EQ(c[1]["top_logprobs"][1]["logprob"], -9.0);

  // Completions, in two calls as a stream makes them: text_offset counts characters of the text
  // ("a", "é", "b", then nothing for the skipped special token, "c") and continues across calls.
  LogprobsFormatter legacy(Endpoint::kCompletions, &*tok, true);
  const json first = json::parse(legacy.format(std::span(ids).first(2), std::span(lps).first(2)).dump());
  const json rest = json::parse(legacy.format(std::span(ids).subspan(2), std::span(lps).subspan(2)).dump());
  std::vector<int64_t> offsets;
  for (const json* part : {&first, &rest}) {
    for (const auto& o : (*part)["text_offset"]) offsets.push_back(o.get<int64_t>());
  }
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 1, 2, 3, 3, 4}));
  // 0xC3 and its alternative 0xA9 both read U+FFFD: one key, the more likely value.
  const json top1 = first["top_logprobs"][1];
  EXPECT_EQ(top1.size(), 1u) << top1;
  EXPECT_EQ(top1[fffd], lps[1].logprob);
  EXPECT_EQ(rest["tokens"][2], "<|im_end|>");
}

TEST_F(ServerHttp, MalformedAndInvalidRequests) {
  const std::string c = "/v1/completions", chat = "/v1/chat/completions";
  expect_error(post(*server_, c, "{\"prompt\": \"a\""), 400, "not valid JSON");
  expect_error(post(*server_, c, "[1, 2]"), 400, "must be a JSON object");
  expect_error(post(*server_, c, ""), 400, "not valid JSON");
  expect_error(post(*server_, c, R"({"max_tokens": 3})"), 400, "'prompt' is required", "prompt");
  expect_error(post(*server_, c, R"({"prompt": "a", "max_tokens": "3"})"), 400, "'max_tokens' must be an integer", "max_tokens");
  expect_error(post(*server_, c, R"({"prompt": "a", "max_tokens": 0})"), 400, "'max_tokens' must be in [1", "max_tokens");
  expect_error(post(*server_, c, R"({"prompt": "a", "temperature": "hot"})"), 400, "'temperature' must be a number", "temperature");
  expect_error(post(*server_, c, R"({"prompt": "a", "top_p": 1.5})"), 400, "top_p must be in (0, 1]", "top_p");
  expect_error(post(*server_, c, R"({"prompt": "a", "n": 0})"), 400, "'n' must be in [1, 16]", "n");
  expect_error(post(*server_, c, R"({"prompt": "a", "stop": [1]})"), 400, "'stop' must be a string or an array", "stop");
  expect_error(post(*server_, c, R"({"prompt": "a", "max_token": 3})"), 400, "unknown field 'max_token'", "max_token");
  expect_error(post(*server_, c, R"({"prompt": "a", "logprobs": 21})"), 400, "'logprobs' must be in [0, 20], got 21", "logprobs");
  expect_error(post(*server_, c, R"({"prompt": "a", "logprobs": -1})"), 400, "'logprobs' must be in [0, 20]", "logprobs");
  expect_error(post(*server_, c, R"({"prompt": "a", "logprobs": true})"), 400, "'logprobs' must be an integer", "logprobs");
  expect_error(post(*server_, c, R"({"prompt": "a", "logprobs": "3"})"), 400, "'logprobs' must be an integer", "logprobs");
  expect_error(post(*server_, c, R"({"prompt": "a", "logprobs": 2.5})"), 400, "'logprobs' must be an integer", "logprobs");
  expect_error(post(*server_, c, R"({"prompt": "a", "top_logprobs": 2})"), 400, "/v1/completions takes", "top_logprobs");
  const std::string m = R"("messages": [{"role": "user", "content": "a"}])";
  expect_error(post(*server_, chat, "{" + m + R"(, "logprobs": 1})"), 400, "'logprobs' must be a boolean", "logprobs");
  expect_error(post(*server_, chat, "{" + m + R"(, "logprobs": true, "top_logprobs": 21})"), 400,
               "'top_logprobs' must be in [0, 20], got 21", "top_logprobs");
  expect_error(post(*server_, chat, "{" + m + R"(, "logprobs": true, "top_logprobs": "2"})"), 400,
               "'top_logprobs' must be an integer", "top_logprobs");
  expect_error(post(*server_, chat, "{" + m + R"(, "top_logprobs": 2})"), 400, "needs \"logprobs\": true", "top_logprobs");
  expect_error(post(*server_, chat, "{" + m + R"(, "logprobs": false, "top_logprobs": 0})"), 400, "needs \"logprobs\": true",
               "top_logprobs");
  expect_error(post(*server_, c, R"({"prompt": "a", "best_of": 2})"), 400, "best_of", "best_of");
  expect_error(post(*server_, c, R"({"prompt": [1, 999]})"), 400, "outside the vocabulary", "prompt");
  expect_error(post(*server_, c, R"({"prompt": [1, -1]})"), 400, "'prompt[1]' must be in", "prompt[1]");
  expect_error(post(*server_, c, R"({"prompt": "", "max_tokens": 1})"), 400, "empty", "prompt");
  expect_error(post(*server_, c, R"({"prompt": "a", "model": "gpt-4"})"), 404, "does not exist", "model");
  expect_error(post(*server_, chat, R"({"messages": []})"), 400, "'messages' must be a non-empty array", "messages");
  expect_error(post(*server_, chat, R"({"messages": [{"role": "robot", "content": "a"}]})"), 400, "must be one of", "messages[0].role");
  expect_error(post(*server_, chat, R"({"messages": [{"role": "user"}]})"), 400, "is required", "messages[0].content");
  expect_error(post(*server_, chat, R"({"messages": [{"role": "user", "content": "a"}], "tools": [{"type": "function"}]})"), 400,
               "tool calling", "tools");
  expect_error(post(*server_, chat, R"({"prompt": "a"})"), 400, "unknown field 'prompt'", "prompt");
  expect_error(post(*server_, c, R"({"prompt": "a", "stream_options": {"include_usage": true}})"), 400, "needs \"stream\": true");
  expect_error(post(*server_, c, R"({"prompt": "a", "swaa": {"sliding_window_size": 0}})"), 400, "sliding_window_size", "swaa");
  expect_error(post(*server_, c, std::string(40, '[') + std::string(40, ']')), 400, "deeper than");
  expect_error(get(*server_, "/v1/nothing"), 404, "no route");
  EXPECT_TRUE(get(*server_, "/health").status == 200);
}

// Malformed bodies through the live server (the parser alone is fuzzed in protocol_fuzz_test.cc):
// each gets a JSON error, and the server keeps serving.
TEST_F(ServerHttp, MalformedBodiesOverHttp) {
  std::mt19937 rng(5);
  const std::string seed = R"({"prompt": [1, 2, 3], "max_tokens": 2, "stream": true, "n": 2, "stop": ["x"]})";
  for (int i = 0; i < 300; ++i) {
    std::string body = seed;
    for (int m = 0; m < 3; ++m) {
      const size_t pos = rng() % body.size();
      if (rng() % 2) body[pos] = static_cast<char>(rng() % 256);
      else body.erase(pos, 1 + rng() % 4);
      if (body.empty()) body = "{";
    }
    HttpReply r = post(*server_, i % 2 ? "/v1/completions" : "/v1/chat/completions", body);
    ASSERT_NE(r.status, 0) << "no response to: " << body;
    EXPECT_TRUE(r.status == 200 || r.status == 400) << r.status << " for " << body << ": " << r.body;
    if (r.status == 400) {
      EXPECT_TRUE(r.json().contains("error")) << r.body;
    }
  }
  EXPECT_EQ(get(*server_, "/health").status, 200);
  EXPECT_EQ(post(*server_, "/v1/completions", R"({"prompt": "ok", "max_tokens": 1})").status, 200);
}

TEST_F(ServerHttp, PromptOverMaxModelLen) {
  json prompt = json::array();
  for (int i = 0; i < 4096; ++i) prompt.push_back(i % 256);
  expect_error(post(*server_, "/v1/completions", json{{"prompt", prompt}}.dump()), 400, "maximum context length is 4096", "prompt");
  prompt.erase(prompt.begin(), prompt.begin() + 10);
  expect_error(post(*server_, "/v1/completions", json{{"prompt", prompt}, {"max_tokens", 11}}.dump()), 400,
               "you requested 4097 tokens", "max_tokens");
  HttpReply ok = post(*server_, "/v1/completions", json{{"prompt", prompt}, {"max_tokens", 10}, {"ignore_eos", true}}.dump());
  EXPECT_EQ(ok.status, 200) << ok.body;
}

// Without max_tokens, chat generates up to the room left in max_model_len *and* in the KV cache
// (a plain chat request must not be rejected because the cache is smaller than max_model_len).
TEST_F(ServerHttp, DefaultMaxTokensFitsTheKvCache) {
  ServerOptions o = test_options(*model_);
  o.worker.engine.kv_cache_bytes = 48 << 10;
  RunningServer s = start_server(o);
  HttpReply r = post(s, "/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}], "ignore_eos": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json u = r.json()["usage"];
  EXPECT_EQ(r.json()["choices"][0]["finish_reason"], "length");
  EXPECT_LT(u["total_tokens"].get<int>(), 4096);
  // Exactly the longest sequence the cache holds: one more token is rejected by the engine.
  const int total = u["total_tokens"];
  json too_long = {{"prompt", json::array({1})}, {"max_tokens", total}};
  expect_error(post(s, "/v1/completions", too_long.dump()), 400, "KV blocks");
  too_long["stream"] = true;  // also before a stream starts: a real status, not an error event
  expect_error(post(s, "/v1/completions", too_long.dump()), 400, "KV blocks");
  // More sequences than the server could ever admit is a 400, not a 503 to retry.
  expect_error(post(s, "/v1/completions", R"({"prompt": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
      "o", "p"], "n": 16, "max_tokens": 1})"), 400, "at most 136", "n");
}

TEST_F(ServerHttp, PerRequestSwaaSettings) {
  // Equal to the server's settings (in any spelling): served by the main engine.
  HttpReply same = post(*server_, "/v1/completions",
                        R"({"prompt": "a", "max_tokens": 2, "swaa": {"sliding_window_size": 16, "keep_first": 2,
                            "non_sliding_layers": [1, 1], "force_fa_decode": false}})");
  EXPECT_EQ(same.status, 200) << same.body;
  expect_error(post(*server_, "/v1/completions", R"({"prompt": "a", "swaa": {"sliding_window_size": 8}})"), 400,
               "--swaa-engines", "swaa");

  ServerOptions o = test_options(*model_);
  o.worker.max_swaa_engines = 1;
  RunningServer pool = start_server(o);
  const std::string req = R"({"prompt": [5, 6, 7, 8, 9, 10, 11, 12], "max_tokens": 6, "temperature": 0, "ignore_eos": true, "swaa": %s})";
  auto with = [&](const std::string& swaa) {
    std::string body = req;
    body.replace(body.find("%s"), 2, swaa);
    return post(pool, "/v1/completions", body);
  };
  HttpReply w2 = with(R"({"sliding_window_size": 2})");
  ASSERT_EQ(w2.status, 200) << w2.body;
  EXPECT_EQ(pool.server->stats().num_engines, 2);
  expect_error(with(R"({"sliding_window_size": 3})"), 503, "extra SWAA engines", "swaa");
  // The pooled engine computes what a server started with those settings computes.
  ServerOptions o2 = test_options(*model_);
  o2.worker.engine.swaa = SwaaConfig{};
  o2.worker.engine.swaa.sliding_window_size = 2;
  RunningServer direct = start_server(o2);
  HttpReply d = post(direct, "/v1/completions", R"({"prompt": [5, 6, 7, 8, 9, 10, 11, 12], "max_tokens": 6, "temperature": 0, "ignore_eos": true})");
  EXPECT_EQ(w2.json()["choices"][0]["text"], d.json()["choices"][0]["text"]);
}

TEST_F(ServerHttp, ApiKey) {
  ServerOptions o = test_options(*model_);
  o.api_key = "sekret";
  RunningServer s = start_server(o);
  expect_error(post(s, "/v1/completions", R"({"prompt": "a", "max_tokens": 1})"), 401, "API key");
  expect_error(post(s, "/v1/completions", R"({"prompt": "a", "max_tokens": 1})", {{"Authorization", "Bearer wrong"}}), 401, "API key");
  EXPECT_EQ(post(s, "/v1/completions", R"({"prompt": "a", "max_tokens": 1})", {{"Authorization", "Bearer sekret"}}).status, 200);
  EXPECT_EQ(get(s, "/health").status, 200);  // health and metrics stay open (probes, scrapers)
}

TEST_F(ServerHttp, ModelsHealthMetrics) {
  json m = get(*server_, "/v1/models").json();
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "test-model");
  EXPECT_EQ(m["data"][0]["max_model_len"], 4096);
  post(*server_, "/v1/completions", R"({"prompt": "metrics", "max_tokens": 3, "ignore_eos": true})");
  // httplib counts a request in its logger, which runs after the response is sent, and the engine
  // thread publishes its KV figures after the step that finished the request: a fast client can
  // read /metrics before either, so wait until the counter shows and the KV is back to zero.
  std::string text;
  ASSERT_TRUE(eventually([&] {
    text = get(*server_, "/metrics").body;
    return text.find("swaa_http_requests_total{path=\"/v1/completions\",code=\"200\"} ") != std::string::npos &&
           text.find("swaa_kv_cache_live_bytes{group=\"full\"} 0\n") != std::string::npos &&
           text.find("swaa_kv_cache_live_bytes{group=\"windowed\"} 0\n") != std::string::npos;
  }, 5)) << text;
  EXPECT_GE(metric(text, "swaa_http_requests_total{path=\"/v1/completions\",code=\"200\"}"), 1);
  EXPECT_GE(metric(text, "swaa_generation_tokens_total"), 3);
  EXPECT_GE(metric(text, "swaa_prompt_tokens_total"), 7);
  EXPECT_GE(metric(text, "swaa_time_to_first_token_seconds_count"), 1);
  EXPECT_GE(metric(text, "swaa_inter_token_latency_seconds_count"), 2);
  EXPECT_EQ(metric(text, "swaa_queue_depth"), 0);
  EXPECT_GT(metric(text, "swaa_kv_cache_capacity_bytes"), 0);
  EXPECT_EQ(metric(text, "swaa_kv_cache_live_bytes{group=\"full\"}"), 0);
  EXPECT_EQ(metric(text, "swaa_kv_cache_live_bytes{group=\"windowed\"}"), 0);
  EXPECT_GT(metric(text, "swaa_kv_cache_peak_live_bytes"), 0);
}

// --warmup-tokens: one request runs before the server listens; it touches the KV cache (peak > 0)
// but no metric counts it. Larger than the cache or max_model_len holds, it is cut to fit.
TEST_F(ServerHttp, WarmupRunsBeforeServingAndIsNotCounted) {
  ServerOptions o = test_options(*model_);
  o.worker.warmup_tokens = 300;  // two prefill chunks of 256
  RunningServer s = start_server(o);
  const std::string text = get(s, "/metrics").body;
  EXPECT_EQ(metric(text, "swaa_prompt_tokens_total"), 0) << text;
  EXPECT_EQ(metric(text, "swaa_generation_tokens_total"), 0) << text;
  EXPECT_EQ(metric(text, "swaa_time_to_first_token_seconds_count"), 0) << text;
  EXPECT_EQ(metric(text, "swaa_kv_cache_live_bytes{group=\"full\"}"), 0) << text;
  EXPECT_GT(metric(text, "swaa_kv_cache_peak_live_bytes"), 0) << text;
  HttpReply r = post(s, "/v1/completions", R"({"prompt": "after the warmup", "max_tokens": 3, "ignore_eos": true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["usage"]["completion_tokens"], 3);

  ServerOptions small = test_options(*model_);
  small.worker.engine.kv_cache_bytes = 48 << 10;  // holds fewer tokens than max_model_len
  small.worker.warmup_tokens = 100000;
  RunningServer t = start_server(small);
  EXPECT_EQ(post(t, "/v1/completions", R"({"prompt": "hi", "max_tokens": 2})").status, 200);

  ServerOptions bad = test_options(*model_);
  bad.worker.warmup_tokens = -3;
  auto created = Server::create(bad);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().message().find("warmup_tokens must be >= 0, got -3"), std::string::npos)
      << created.status().message();
}

// A client that hangs up mid-stream: the request is aborted and its KV freed, while the stream
// would otherwise have run for thousands of tokens.
TEST_F(ServerHttp, DisconnectMidStreamAbortsAndFreesKv) {
  ServerOptions o = test_options(*model_);
  RunningServer s = start_server(o);
  const double aborted_before = metric(get(s, "/metrics").body, "swaa_requests_finished_total{finish_reason=\"abort\"}");
  int chunks = 0;
  KvStats during;
  post_stream(s, "/v1/completions", R"({"prompt": "a long story", "max_tokens": 4000, "ignore_eos": true, "stream": true})",
              [&](const std::string&) {
                during = s.server->stats().kv;
                return ++chunks < 5;
              });
  EXPECT_EQ(chunks, 5);
  EXPECT_GT(during.live_bytes, 0);
  EXPECT_TRUE(eventually([&] {
    const std::string t = get(s, "/metrics").body;
    return metric(t, "swaa_requests_finished_total{finish_reason=\"abort\"}") == aborted_before + 1 &&
           metric(t, "swaa_requests_in_flight") == 0 && metric(t, "swaa_kv_cache_live_bytes{group=\"full\"}") == 0 &&
           metric(t, "swaa_kv_cache_live_bytes{group=\"windowed\"}") == 0;
  })) << get(s, "/metrics").body;
  const WorkerStats st = s.server->stats();
  EXPECT_EQ(st.kv.live_bytes, 0);
  EXPECT_EQ(st.kv.num_running + st.kv.num_waiting, 0);
  EXPECT_LT(metric(get(s, "/metrics").body, "swaa_generation_tokens_total"), 3000);
}

// The same for a non-streaming request: the client gives up (read timeout) and closes its socket.
TEST_F(ServerHttp, DisconnectWhileWaitingAbortsAndFreesKv) {
  ServerOptions o = test_options(*model_);
  RunningServer s = start_server(o);
  httplib::Client c("127.0.0.1", s.port);
  c.set_read_timeout(std::chrono::milliseconds(300));
  auto res = c.Post("/v1/completions", R"({"prompt": "a long story", "max_tokens": 4000, "ignore_eos": true})", "application/json");
  EXPECT_FALSE(res);  // timed out
  c.stop();
  EXPECT_TRUE(eventually([&] {
    const std::string t = get(s, "/metrics").body;
    return metric(t, "swaa_requests_finished_total{finish_reason=\"abort\"}") == 1 && metric(t, "swaa_requests_in_flight") == 0 &&
           metric(t, "swaa_kv_cache_live_bytes{group=\"full\"}") == 0;
  })) << get(s, "/metrics").body;
  EXPECT_LT(metric(get(s, "/metrics").body, "swaa_generation_tokens_total"), 3900);
}

TEST_F(ServerHttp, QueueFullIs503) {
  ServerOptions o = test_options(*model_);
  o.worker.engine.max_num_seqs = 1;
  o.worker.max_queued_requests = 1;
  RunningServer s = start_server(o);
  std::atomic<int> started{0};
  std::atomic<bool> release{false};
  auto hold = [&] {
    post_stream(s, "/v1/completions", R"({"prompt": "x", "max_tokens": 4000, "ignore_eos": true, "stream": true})",
                [&](const std::string&) {
                  ++started;
                  while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
                  return false;
                });
  };
  std::thread a(hold);
  ASSERT_TRUE(eventually([&] { return started > 0; }));
  // One running + one queued fill the server; a request for 2 choices does not fit either.
  HttpReply two = post(s, "/v1/completions", R"({"prompt": "y", "max_tokens": 2, "n": 2})");
  EXPECT_EQ(two.status, 503) << two.body;
  std::thread b(hold);
  ASSERT_TRUE(eventually([&] { return s.server->stats().in_flight == 2; }));
  HttpReply r = post(s, "/v1/completions", R"({"prompt": "y", "max_tokens": 2})");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "queue_full");
  release = true;
  a.join();
  b.join();
  ASSERT_TRUE(eventually([&] { return s.server->stats().in_flight == 0; }));
  EXPECT_EQ(post(s, "/v1/completions", R"({"prompt": "y", "max_tokens": 2})").status, 200);
}

TEST_F(ServerHttp, StopEndsOpenStreams) {
  ServerOptions o = test_options(*model_);
  RunningServer s = start_server(o);
  std::atomic<int> chunks{0};
  std::string last;
  std::thread t([&] {
    post_stream(s, "/v1/completions", R"({"prompt": "x", "max_tokens": 4000, "ignore_eos": true, "stream": true})",
                [&](const std::string& e) {
                  ++chunks;
                  last = e;
                  return true;
                });
  });
  ASSERT_TRUE(eventually([&] { return chunks > 2; }));
  s.server->stop();
  t.join();
  EXPECT_EQ(last, "[DONE]");
}

}  // namespace
}  // namespace swaa::server
