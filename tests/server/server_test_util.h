// Helpers for the server tests: a random model with the byte tokenizer, an in-process Server on a
// free port, HTTP calls (whole and streamed, with early disconnect), SSE and /metrics parsing.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "server/http_server.h"
#include "support/checkpoint_writer.h"

namespace swaa::server::testing {

// vocab 300 (bytes 0..255, specials 256..258), 3 layers: fast enough for hundreds of requests.
inline std::string write_test_model(const std::string& name, int hidden = 32) {
  const std::string dir = swaa::testing::make_temp_dir(name);
  swaa::testing::RandomModelSpec spec;
  spec.vocab = 300;
  spec.hidden = hidden;
  spec.seed = 7;
  spec.qk_scale = 1.0f;
  swaa::testing::write_random_model(dir, spec);
  swaa::testing::write_byte_tokenizer(dir);
  return dir;
}

inline ServerOptions test_options(const std::string& model_dir) {
  ServerOptions o;
  o.port = 0;
  o.served_model_name = "test-model";
  o.http_threads = 32;
  o.worker.engine.model_dir = model_dir;
  o.worker.engine.num_threads = 1;
  o.worker.engine.block_size = 4;
  o.worker.engine.max_model_len = 4096;
  o.worker.engine.max_num_seqs = 8;
  o.worker.engine.max_num_batched_tokens = 256;
  o.worker.engine.kv_cache_bytes = 16 << 20;
  o.worker.engine.swaa.sliding_window_size = 16;
  o.worker.engine.swaa.keep_first = 2;
  o.worker.engine.swaa.non_sliding_layers = {1};
  return o;
}

struct RunningServer {
  std::unique_ptr<Server> server;
  int port = 0;
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(std::chrono::seconds(60));
    return c;
  }
};

inline RunningServer start_server(const ServerOptions& o) {
  RunningServer r;
  auto s = Server::create(o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return r;
  r.server = std::move(s).value();
  auto port = r.server->start();
  EXPECT_TRUE(port.ok()) << port.status().message();
  r.port = port.ok() ? *port : 0;
  return r;
}

struct HttpReply {
  int status = 0;  // 0 = no response (connection error)
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

inline HttpReply post(const RunningServer& s, const std::string& path, const std::string& body,
                      const httplib::Headers& headers = {}) {
  auto c = s.client();
  auto res = c.Post(path, headers, body, "application/json");
  if (!res) return {};
  return {res->status, res->body};
}

inline HttpReply get(const RunningServer& s, const std::string& path) {
  auto c = s.client();
  auto res = c.Get(path);
  if (!res) return {};
  return {res->status, res->body};
}

// A streamed POST. `on_event` sees each SSE data payload ("[DONE]" included) and returns false to
// hang up (the client closes the connection).
inline int post_stream(const RunningServer& s, const std::string& path, const std::string& body,
                       const std::function<bool(const std::string&)>& on_event) {
  auto c = s.client();
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  std::string buf;
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    buf.append(data, len);
    size_t end;
    while ((end = buf.find("\n\n")) != std::string::npos) {
      const std::string event = buf.substr(0, end);
      buf.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) continue;  // comments (keep-alive)
      if (!on_event(event.substr(6))) return false;
    }
    return true;
  };
  auto res = c.send(req);
  return res ? res->status : 0;
}

// Value of one sample line of /metrics, e.g. metric(text, "swaa_kv_cache_live_bytes{group=\"full\"}").
inline double metric(const std::string& text, const std::string& sample) {
  size_t pos = 0;
  while ((pos = text.find(sample + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + sample.size() + 1));
    pos += sample.size();
  }
  ADD_FAILURE() << "no metric " << sample << " in\n" << text;
  return -1;
}

// Polls `pred` every 10 ms for up to `seconds`.
inline bool eventually(const std::function<bool()>& pred, double seconds = 10) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace swaa::server::testing
