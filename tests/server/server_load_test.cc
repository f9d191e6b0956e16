// Bounded loopback load test: `swaa serve` in its own process, this process as the client. Each
// round sends many concurrent streaming requests with mixed long and short prompts (both
// endpoints). Checks: no failed or lost request (every one ends with its finish chunk, usage and
// [DONE]), the KV cache is empty and nothing is in flight after each round, and the server's RSS is
// flat across rounds. Prints requests/s and p50/p99 time to first token (client side) per round.
// Environment: SWAA_LOAD_ROUNDS, SWAA_LOAD_CONCURRENCY (defaults 4 and 48) for longer runs.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "support/checkpoint_writer.h"

extern char** environ;

namespace swaa {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

struct ServeProcess {
  pid_t pid = -1;
  int port = 0;
  std::string log;

  bool start(const std::vector<std::string>& args, const std::string& log_path) {
    log = log_path;
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return false;
    const std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 600; ++i) {
      std::ifstream f(log_path);
      std::stringstream ss;
      ss << f.rdbuf();
      std::smatch m;
      const std::string text = ss.str();
      if (std::regex_search(text, m, re)) {
        port = std::stoi(m[1]);
        return true;
      }
      if (waitpid(pid, nullptr, WNOHANG) == pid) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  int64_t rss_kib() const {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
    }
    return -1;
  }
  int stop() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~ServeProcess() {
    if (pid > 0) stop();
  }
};

struct Outcome {
  bool ok = false;
  std::string why;
  double ttft = 0;  // seconds to the first data event
};

// One streaming request; checks the stream is complete and consistent.
Outcome run_one(int port, bool chat, const json& body, int max_tokens) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(std::chrono::seconds(120));
  httplib::Request req;
  req.method = "POST";
  req.path = chat ? "/v1/chat/completions" : "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Outcome out;
  std::string buf;
  bool done = false, finished = false;
  int64_t usage_tokens = -1;
  const auto t0 = Clock::now();
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    buf.append(d, n);
    size_t end;
    while ((end = buf.find("\n\n")) != std::string::npos) {
      const std::string ev = buf.substr(0, end);
      buf.erase(0, end + 2);
      if (ev.rfind("data: ", 0) != 0) continue;
      if (out.ttft == 0) out.ttft = std::chrono::duration<double>(Clock::now() - t0).count();
      const std::string data = ev.substr(6);
      if (data == "[DONE]") {
        done = true;
        continue;
      }
      json j = json::parse(data, nullptr, false);
      if (j.is_discarded() || j.contains("error")) {
        out.why = "bad event: " + data;
        return false;
      }
      if (j.contains("usage") && j["usage"].is_object()) usage_tokens = j["usage"]["completion_tokens"];
      for (const json& c : j["choices"]) {
        if (!c["finish_reason"].is_null()) finished = c["finish_reason"] == "length";
      }
    }
    return true;
  };
  auto res = cli.send(req);
  if (!res) {
    return {false, "no response (" + httplib::to_string(res.error()) + ") after " +
                       std::to_string(std::chrono::duration<double>(Clock::now() - t0).count()) + " s, " +
                       std::to_string(buf.size()) + " bytes pending, ttft " + std::to_string(out.ttft), 0};
  }
  if (res->status != 200) return {false, "status " + std::to_string(res->status) + ": " + res->body, 0};
  if (!out.why.empty()) return out;
  if (!done) out.why = "no [DONE]";
  else if (!finished) out.why = "no finish_reason \"length\"";
  else if (usage_tokens != max_tokens) out.why = "usage.completion_tokens " + std::to_string(usage_tokens);
  out.ok = out.why.empty();
  return out;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

double metric(const std::string& text, const std::string& sample) {
  const size_t pos = text.find("\n" + sample + " ");
  return pos == std::string::npos ? -1 : std::stod(text.substr(pos + sample.size() + 2));
}

TEST(ServerLoad, ConcurrentStreamsMixedPrompts) {
  const int rounds = env_int("SWAA_LOAD_ROUNDS", 4), concurrency = env_int("SWAA_LOAD_CONCURRENCY", 48);
  const std::string dir = testing::make_temp_dir("load");
  testing::RandomModelSpec spec;
  spec.vocab = 300;
  spec.hidden = 64;
  spec.layers = 4;
  spec.heads = 4;
  spec.kv_heads = 2;
  spec.head_dim = 16;
  spec.intermediate = 128;
  spec.qk_scale = 1.0f;
  testing::write_random_model(dir + "/model", spec);
  testing::write_byte_tokenizer(dir + "/model");
  ServeProcess srv;
  const std::vector<std::string> args = {
      std::string(SWAA_BINARY_DIR) + "/swaa", "serve", "-m", dir + "/model", "--port", "0", "--threads", "2",
      "--max-model-len", "2048", "--max-num-seqs", "16", "--max-num-batched-tokens", "512", "--max-queued-requests",
      "512", "--http-threads", "64", "--kv-cache-gib", "0.008", "--sliding-window-size", "64", "--keep-first", "4", "--non-sliding-layers", "1",
      "--served-model-name", "load"};
  ASSERT_TRUE(srv.start(args, dir + "/serve.log")) << "swaa serve did not start; see " << dir << "/serve.log";

  std::vector<int64_t> rss;
  std::printf("\n| round | requests | seconds | requests/s | generated tok/s | p50 TTFT ms | p99 TTFT ms | server RSS MiB |\n"
              "|---|---|---|---|---|---|---|---|\n");
  int failed = 0;
  for (int round = 0; round < rounds; ++round) {
    std::mt19937 rng(42);  // every round sends the same mix, so memory can be compared round to round
    std::vector<json> bodies(concurrency);
    std::vector<bool> chat(concurrency);
    std::vector<int> max_tokens(concurrency);
    for (int i = 0; i < concurrency; ++i) {
      const bool is_long = i % 4 == 0;  // a quarter long (200-700 tokens), the rest 4-40 tokens
      const int len = is_long ? 200 + static_cast<int>(rng() % 500) : 4 + static_cast<int>(rng() % 36);
      max_tokens[i] = 8 + static_cast<int>(rng() % 24);
      chat[i] = i % 3 == 1;
      json b = {{"model", "load"}, {"max_tokens", max_tokens[i]}, {"stream", true}, {"ignore_eos", true},
                {"temperature", 0.8}, {"seed", round * 1000 + i}, {"stream_options", {{"include_usage", true}}}};
      if (chat[i]) {
        b["messages"] = json::array({{{"role", "user"}, {"content", std::string(len, 'a' + i % 26)}}});
      } else {
        json ids = json::array();
        for (int t = 0; t < len; ++t) ids.push_back(static_cast<int>(rng() % 256));
        b["prompt"] = ids;
      }
      bodies[i] = std::move(b);
    }
    std::vector<Outcome> outcomes(concurrency);
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < concurrency; ++i) {
      threads.emplace_back([&, i] { outcomes[i] = run_one(srv.port, chat[i], bodies[i], max_tokens[i]); });
    }
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> ttft;
    for (int i = 0; i < concurrency; ++i) {
      if (!outcomes[i].ok) {
        ++failed;
        ADD_FAILURE() << "round " << round << " request " << i << ": " << outcomes[i].why;
      }
      ttft.push_back(outcomes[i].ttft);
    }
    // After the round: nothing in flight, every KV block back.
    httplib::Client cli("127.0.0.1", srv.port);
    std::string m;
    for (int i = 0; i < 200; ++i) {
      auto r = cli.Get("/metrics");
      ASSERT_TRUE(r) << "no /metrics";
      m = r->body;
      if (metric(m, "swaa_requests_in_flight") == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(metric(m, "swaa_requests_in_flight"), 0) << m;
    EXPECT_EQ(metric(m, "swaa_kv_cache_live_bytes{group=\"full\"}"), 0) << m;
    EXPECT_EQ(metric(m, "swaa_kv_cache_live_bytes{group=\"windowed\"}"), 0) << m;
    rss.push_back(srv.rss_kib());
    int generated = 0;
    for (int t : max_tokens) generated += t;
    std::printf("| %d | %d | %.2f | %.1f | %.0f | %.1f | %.1f | %.1f |\n", round + 1, concurrency, seconds,
                concurrency / seconds, generated / seconds, 1e3 * percentile(ttft, 0.5), 1e3 * percentile(ttft, 0.99),
                rss.back() / 1024.0);
    std::fflush(stdout);
  }
  EXPECT_EQ(failed, 0);
  // Memory flat: after the first round (allocator pools, thread stacks and KV tensors are warm),
  // later rounds may not grow RSS by more than 16 MiB in total (the KV cache is 8 MiB: small enough that round 1 touches all of it).
  ASSERT_GE(rss.size(), 2u);
  for (size_t r = 1; r < rss.size(); ++r) {
    EXPECT_LE(rss[r], rss[0] + 16 * 1024) << "server RSS grew from " << rss[0] << " KiB to " << rss[r] << " KiB by round " << r + 1;
  }
  EXPECT_EQ(srv.stop(), 0);
}

}  // namespace
}  // namespace swaa
