// Property test of the request parser: thousands of malformed bodies (random bytes, mutated valid
// requests, valid JSON with random values in every field) never crash or throw; each is accepted
// with valid sampling parameters or rejected as a 400 whose body is OpenAI's error JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "sampling/sampler.h"
#include "server/openai_protocol.h"
#include "support/checkpoint_writer.h"

namespace swaa::server {
namespace {

using nlohmann::json;

const std::vector<std::string> kSeeds = {
    R"({"model": "m", "prompt": "hello", "max_tokens": 5, "temperature": 0.5, "stop": ["\n", "x"], "n": 2})",
    R"({"prompt": [1, 2, 3], "stream": true, "stream_options": {"include_usage": true}, "seed": 3})",
    R"({"prompt": [[1, 2], [3]], "top_k": 4, "top_p": 0.9, "min_p": 0.1, "swaa": {"sliding_window_size": 4}})",
    R"({"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 3, "logprobs": false})",
    R"({"messages": [{"role": "system", "content": [{"type": "text", "text": "s"}]}, {"role": "user", "content": "q"}],
        "chat_template_kwargs": {"enable_thinking": false}, "response_format": {"type": "text"}})",
    R"({"prompt": "hi", "logprobs": 3, "stream": true, "max_tokens": 2})",
    R"({"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 5})",
};
const std::vector<std::string> kFields = {
    "model", "prompt", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p",
    "seed", "stop", "n", "stream", "stream_options", "logprobs", "top_logprobs", "echo", "suffix", "logit_bias",
    "presence_penalty", "frequency_penalty", "repetition_penalty", "ignore_eos", "stop_token_ids", "best_of", "swaa",
    "tools", "tool_choice", "response_format", "chat_template_kwargs", "user", "bogus", ""};

json random_value(std::mt19937& rng, int depth) {
  switch (rng() % (depth > 2 ? 8 : 11)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<int64_t>(rng() % 40) - 10;
    case 3: {
      static const int64_t big[] = {INT64_MIN, INT64_MAX, 1LL << 31, -(1LL << 31), 4096, 0};
      return big[rng() % 6];
    }
    case 4: return UINT64_MAX - rng() % 3;
    case 5: {
      static const double d[] = {0.5, -0.0, 1e308, -1e308, 2.5, 1e-320, 3.0, 1.0000001};
      return d[rng() % 8];
    }
    case 6: {
      static const char* s[] = {"", "a", "\xC3\xA9\xE2\x82\xAC", "\\u0000", "<|im_end|>", "user", "text", "true"};
      return s[rng() % 8];
    }
    case 7: return std::string(rng() % 300, 'x');
    case 8: {
      json a = json::array();
      for (int i = 0, n = static_cast<int>(rng() % 5); i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    case 9: {
      json o = json::object();
      static const char* k[] = {"role", "content", "type", "text", "include_usage", "sliding_window_size", "keep_first",
                                "force_fa_decode", "non_sliding_layers", "enable_thinking", "x"};
      for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) o[k[rng() % 11]] = random_value(rng, depth + 1);
      return o;
    }
    default: {
      json a = json::array();
      for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) a.push_back(static_cast<int>(rng() % 400) - 50);
      return a;
    }
  }
}

class ProtocolFuzz : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = swaa::testing::make_temp_dir("fuzz_tokenizer");
    swaa::testing::write_byte_tokenizer(dir);
    auto t = Tokenizer::from_dir(dir);
    ASSERT_TRUE(t.ok()) << t.status().message();
    tok_ = new Tokenizer(*t);
  }
  static void TearDownTestSuite() { delete tok_; }

  // One body through both endpoints; returns how many were accepted.
  static int check(const std::string& body, uint64_t seed) {
    int accepted = 0;
    for (Endpoint ep : {Endpoint::kCompletions, Endpoint::kChatCompletions}) {
      ParsedRequest r;
      ApiError e;
      bool ok = parse_request(body, ep, r, e);
      std::vector<std::vector<int32_t>> ids;
      if (ok) ok = prepare_prompts(r, tok_, 64, 300, ids, e);
      if (ok) {
        ++accepted;
        EXPECT_TRUE(validate(r.sampling).ok()) << "seed " << seed << ": " << body;
        // Chat: logprobs only with "logprobs": true, top_logprobs only beside it.
        if (ep == Endpoint::kChatCompletions) {
          EXPECT_EQ(r.sampling.logprobs >= 0, r.chat_logprobs) << "seed " << seed << ": " << body;
          EXPECT_TRUE(!r.top_logprobs || r.chat_logprobs) << "seed " << seed << ": " << body;
        }
        EXPECT_GE(r.n, 1);
        EXPECT_LE(r.n, kMaxChoices);
        EXPECT_FALSE(ids.empty());
        for (const auto& p : ids) {
          EXPECT_FALSE(p.empty());
          EXPECT_LE(static_cast<int>(p.size()) + r.sampling.max_tokens, 64) << "seed " << seed << ": " << body;
          for (int32_t t : p) EXPECT_TRUE(t >= 0 && t < 300);
        }
      } else {
        EXPECT_EQ(e.status, 400);
        EXPECT_FALSE(e.message.empty()) << "seed " << seed << ": " << body;
        const json j = json::parse(e.to_json(), nullptr, false);
        EXPECT_TRUE(j.is_object() && j["error"]["message"].is_string()) << e.to_json();
      }
    }
    return accepted;
  }
  static Tokenizer* tok_;
};
Tokenizer* ProtocolFuzz::tok_ = nullptr;

TEST_F(ProtocolFuzz, RandomBytes) {
  std::mt19937 rng(1);
  for (int i = 0; i < 3000; ++i) {
    std::string body(rng() % 200, '\0');
    for (char& c : body) c = static_cast<char>(rng() % 256);
    if (i % 3 == 0 && !body.empty()) body[0] = '{';
    check(body, i);
  }
}

TEST_F(ProtocolFuzz, MutatedValidRequests) {
  std::mt19937 rng(2);
  int accepted = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string body = kSeeds[rng() % kSeeds.size()];
    for (int m = 0, n = 1 + static_cast<int>(rng() % 4); m < n && !body.empty(); ++m) {
      const size_t pos = rng() % body.size();
      switch (rng() % 4) {
        case 0: body[pos] = static_cast<char>(rng() % 256); break;
        case 1: body.erase(pos, 1 + rng() % 8); break;
        case 2: body.insert(pos, 1, "{}[]\",:0-e.\\n"[rng() % 13]); break;
        default: body.resize(pos); break;
      }
    }
    accepted += check(body, i);
  }
  EXPECT_GT(accepted, 0);  // some mutations stay valid: the accept path is exercised too
}

TEST_F(ProtocolFuzz, RandomValuesInEveryField) {
  std::mt19937 rng(3);
  int accepted = 0;
  for (int i = 0; i < 6000; ++i) {
    json body = json::object();
    if (rng() % 2) body["prompt"] = "hi";
    else body["messages"] = json::array({{{"role", "user"}, {"content", "hi"}}});
    for (int f = 0, n = 1 + static_cast<int>(rng() % 4); f < n; ++f) body[kFields[rng() % kFields.size()]] = random_value(rng, 0);
    accepted += check(body.dump(-1, ' ', false, json::error_handler_t::replace), i);
  }
  EXPECT_GT(accepted, 100);
}

TEST_F(ProtocolFuzz, DeepNestingIsRejectedNotRecursed) {
  for (int depth : {33, 1000, 200000}) {
    std::string body = "{\"prompt\": " + std::string(depth, '[') + std::string(depth, ']') + "}";
    ParsedRequest r;
    ApiError e;
    EXPECT_FALSE(parse_request(body, Endpoint::kCompletions, r, e));
    EXPECT_NE(e.message.find("deeper than"), std::string::npos) << e.message;
  }
}

}  // namespace
}  // namespace swaa::server
