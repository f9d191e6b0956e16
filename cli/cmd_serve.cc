// `swaa serve`: the OpenAI-compatible HTTP server (server/, docs/server.md). Prints
// "swaa serve: listening on http://HOST:PORT" on stderr once the port is bound (--port 0 picks a
// free port; tests read it from that line); SIGINT/SIGTERM stop it cleanly (exit 0).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "commands.h"
#include "engine_flags.h"
#include "server/http_server.h"

namespace swaa::cli {
namespace {

struct ServeArgs {
  EngineFlags engine;
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string served_model_name, api_key;
  int max_queued_requests = 128;
  int swaa_engines = 0;
  int http_threads = 0;
  int warmup_tokens = -1;  // -1: the prefill chunk (--max-num-batched-tokens) on CUDA, none on the CPU
};

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }

void run_serve(const ServeArgs& a) {
  server::ServerOptions o;
  o.host = a.host;
  o.port = a.port;
  o.served_model_name = a.served_model_name;
  o.api_key = a.api_key;
  if (o.api_key.empty()) {
    if (const char* env = std::getenv("SWAA_API_KEY")) o.api_key = env;
  }
  if (a.port < 0 || a.port > 65535) throw CliError("--port must be in [0, 65535], got " + std::to_string(a.port));
  if (a.http_threads < 0) throw CliError("--http-threads must be >= 0, got " + std::to_string(a.http_threads));
  o.http_threads = a.http_threads;
  o.worker.engine = a.engine.resolve();
  o.worker.max_queued_requests = a.max_queued_requests;
  o.worker.max_swaa_engines = a.swaa_engines;
  if (a.warmup_tokens < -1) throw CliError("--warmup-tokens must be >= 0, got " + std::to_string(a.warmup_tokens));
  const bool gpu = o.worker.engine.device.rfind("cuda", 0) == 0;
  o.worker.warmup_tokens = a.warmup_tokens >= 0 ? a.warmup_tokens : (gpu ? o.worker.engine.max_num_batched_tokens : 0);
  auto srv = server::Server::create(o);
  if (!srv.ok()) throw CliError(srv.status().message());
  auto port = (*srv)->start();
  if (!port.ok()) throw CliError(port.status().message());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "swaa serve: listening on http://%s:%d (model '%s', SWAA %s, max_model_len %d)\n",
               a.host.c_str(), *port, (*srv)->model_name().c_str(), describe(o.worker.engine.swaa).c_str(),
               (*srv)->max_model_len());
  std::fflush(stderr);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "swaa serve: stopping\n");
  (*srv)->stop();
}

}  // namespace

void register_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (/v1/completions, /v1/chat/completions)");
  args->engine.add_to(*cmd);
  cmd->add_option("--host", args->host, "address to listen on (default 127.0.0.1; 0.0.0.0 = every interface)");
  cmd->add_option("--port", args->port, "TCP port (default 8000; 0 = any free port)");
  cmd->add_option("--served-model-name", args->served_model_name, "the model name clients send (default: the directory name)");
  cmd->add_option("--api-key", args->api_key, "require 'Authorization: Bearer KEY' on /v1/* (also $SWAA_API_KEY)");
  cmd->add_option("--max-queued-requests", args->max_queued_requests,
                  "sequences admitted beyond --max-num-seqs before requests get 503 (default 128)");
  cmd->add_option("--swaa-engines", args->swaa_engines,
                  "extra engines for requests with their own 'swaa' settings, each with its own weights and KV cache "
                  "(default 0: such requests get 400)");
  cmd->add_option("--http-threads", args->http_threads, "HTTP worker threads (0 = max-num-seqs + max-queued-requests + 16)");
  cmd->add_option("--warmup-tokens", args->warmup_tokens,
                  "prompt tokens of one request run before listening, so the first client does not pay one-time GPU "
                  "costs (default: --max-num-batched-tokens on CUDA, 0 on the CPU)");
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace swaa::cli
