// Server: `swaa serve` as a library. An OpenAI-compatible HTTP API (cpp-httplib) in front of one
// EngineWorker: POST /v1/completions, /v1/chat/completions (SSE streaming), GET /v1/models,
// /health, /metrics. No httplib types in this header. start() returns once the port is bound.
// Tests: tests/server/server_http_test.cc (in-process), tests/server/openai_contract.sh
// (the official openai npm client), tests/server/server_load_test.cc.
#pragma once

#include <memory>
#include <string>

#include "server/engine_worker.h"

namespace swaa::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                 // 0 = any free port (start() returns it)
  std::string served_model_name;   // "" = the last component of the model directory
  std::string api_key;             // "" = no authentication; else /v1/* needs "Authorization: Bearer KEY"
  int http_threads = 0;            // 0 = max_num_seqs + max_queued_requests + 16 (one per open stream)
  size_t max_body_bytes = 64 << 20;
  WorkerOptions worker;
};

class Server {
 public:
  // Loads the model (on the calling thread) and starts the engine thread.
  static Result<std::unique_ptr<Server>> create(const ServerOptions& options);
  ~Server();  // stop()

  // Binds host:port and serves on background threads; returns the bound port. Ignores SIGPIPE
  // for the whole process (a write to a client that left must fail, not kill the server).
  Result<int> start();
  // Ends every open request (streams get an error event), stops listening, joins all threads.
  void stop();

  const std::string& model_name() const;
  int max_model_len() const;
  WorkerStats stats() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swaa::server
