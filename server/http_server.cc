// HTTP routes of `swaa serve`. Handler threads parse and tokenize (the tokenizer is thread-safe),
// admit the request against the queue limit, submit it to the engine thread, then either wait for
// the whole result or stream SSE chunks. A stream whose client is gone (a write fails; a keep-alive
// comment is written every 2 s while no tokens flow) is aborted: its KV is freed at the next step;
// so is a non-streaming request whose client closed its socket (connection_probe.h).
#include "server/http_server.h"

#include <sys/socket.h>

#include <csignal>
#include <filesystem>
#include <iterator>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "server/connection_probe.h"
#include "server/openai_format.h"
#include "server/openai_logprobs.h"
#include "swaa/engine.h"

namespace swaa::server {

namespace {

using nlohmann::json;
constexpr auto kPoll = std::chrono::milliseconds(100);
constexpr auto kKeepAlive = std::chrono::seconds(2);
constexpr int kListenBacklog = 1024;  // capped by net.core.somaxconn

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(e.to_json(), "application/json");
}

ApiError engine_error(const Status& st) {
  const bool client = st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kResourceExhausted;
  return ApiError{client ? 400 : 500, st.message(), client ? "invalid_request_error" : "server_error", "", ""};
}

std::string route_label(const std::string& path) {
  for (const char* p : {"/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics"}) {
    if (path == p) return p;
  }
  return "other";
}

// What a request needs after its handler returned (streams outlive the handler call).
struct Job {
  ResponseContext ctx;
  std::shared_ptr<RequestHandle> handle;
  EngineWorker* worker = nullptr;
  int64_t prompt_tokens = 0;
  bool include_usage = false;
  bool logprobs = false;  // the request asked for log-probabilities
  bool skip_special_tokens = true;

  LogprobsFormatter logprobs_formatter() const {
    return LogprobsFormatter(ctx.endpoint, worker->tokenizer(), skip_special_tokens);
  }
};

// Tokens whose logprobs are not yet sent: a stream sends them with the next chunk it writes (a
// token whose text is held back for a stop string waits for the chunk that carries the text).
struct PendingLogprobs {
  std::vector<int32_t> ids;
  std::vector<SampleLogprobs> logprobs;
  void add(ChoiceEvent& ev) {
    ids.insert(ids.end(), ev.token_ids.begin(), ev.token_ids.end());
    std::move(ev.logprobs.begin(), ev.logprobs.end(), std::back_inserter(logprobs));
  }
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  ServerMetrics metrics;
  std::unique_ptr<EngineWorker> worker;
  std::string model_name;
  httplib::Server http;
  std::thread listener;
  bool stopped = false;

  void install_routes();
  void handle_generate(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void respond_whole(const Job& job, const httplib::Request& req, httplib::Response& res);
  void respond_stream(std::shared_ptr<Job> job, httplib::Response& res);
  std::string render_metrics() const;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::create(const ServerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  SWAA_ASSIGN_OR_RETURN(impl->worker, EngineWorker::create(options.worker, &impl->metrics));
  impl->model_name = options.served_model_name;
  if (impl->model_name.empty()) {
    std::filesystem::path p(options.worker.engine.model_dir);
    impl->model_name = (p.has_filename() ? p.filename() : p.parent_path().filename()).string();
  }
  impl->install_routes();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Result<int> Server::start() {
  Impl& m = *impl_;
  // A client that disconnects makes the next write raise SIGPIPE; the write must fail instead.
  std::signal(SIGPIPE, SIG_IGN);
  const WorkerOptions& w = m.options.worker;
  const size_t threads = m.options.http_threads > 0
                             ? static_cast<size_t>(m.options.http_threads)
                             : static_cast<size_t>(w.engine.max_num_seqs + w.max_queued_requests + 16);
  m.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  m.http.set_payload_max_length(m.options.max_body_bytes);
  // Debian's cpp-httplib listens with a backlog of 5: a burst of concurrent connects overflows it
  // and the kernel resets the extra connections after ~1 s (seen with 48 clients). Remember the
  // listening socket and raise its backlog after bind (listen() again only updates the backlog).
  // Its default options also set SO_REUSEPORT, which lets a second server bind the same port and
  // silently take half the connections; SO_REUSEADDR alone makes that an "address in use" error.
  int listen_fd = -1;
  m.http.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  int port = m.options.port;
  if (port == 0) {
    port = m.http.bind_to_any_port(m.options.host);
  } else if (!m.http.bind_to_port(m.options.host, port)) {
    port = -1;
  }
  if (port < 0) {
    return invalid_argument("cannot listen on " + m.options.host + ":" + std::to_string(m.options.port) +
                            " (address in use, or not an address of this machine)");
  }
  m.http.set_socket_options([](socket_t) {});  // drop the reference to listen_fd
  if (listen_fd >= 0) ::listen(listen_fd, kListenBacklog);
  m.listener = std::thread([&m] { m.http.listen_after_bind(); });
  return port;
}

void Server::stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  m.worker->stop();  // open requests fail first, so handler threads return
  m.http.stop();
  if (m.listener.joinable()) m.listener.join();
}

const std::string& Server::model_name() const { return impl_->model_name; }
int Server::max_model_len() const { return impl_->worker->max_model_len(); }
WorkerStats Server::stats() const { return impl_->worker->stats(); }

void Server::Impl::install_routes() {
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (options.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + options.api_key) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    send_error(res, {401, "Incorrect or missing API key: send \"Authorization: Bearer <key>\"",
                     "invalid_request_error", "", "invalid_api_key"});
    return httplib::Server::HandlerResponse::Handled;
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e{res.status, "", "invalid_request_error", "", ""};
    switch (res.status) {
      case 404: e.message = "no route for " + req.method + " " + req.path; e.code = "not_found"; break;
      case 413: e.message = "the request body is too large"; e.code = "body_too_large"; break;
      default: e.message = "HTTP " + std::to_string(res.status); break;
    }
    if (res.status >= 500) e.type = "server_error";
    send_error(res, e);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    send_error(res, {500, "internal error: " + what, "server_error", "", ""});
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics.count_http(route_label(req.path), res.status);
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generate(req, res, Endpoint::kCompletions);
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generate(req, res, Endpoint::kChatCompletions);
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    json model = {{"id", model_name}, {"object", "model"}, {"created", now.count()}, {"owned_by", "swaa"},
                  {"max_model_len", worker->max_model_len()}};
    res.set_content(json{{"object", "list"}, {"data", json::array({model})}}.dump(), "application/json");
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const bool ok = worker->stats().healthy;
    res.status = ok ? 200 : 503;
    res.set_content(ok ? R"({"status":"ok"})" : R"({"status":"engine failed"})", "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_metrics(), "text/plain; version=0.0.4");
  });
}

void Server::Impl::handle_generate(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  ParsedRequest pr;
  ApiError err;
  if (!parse_request(req.body, endpoint, pr, err)) return send_error(res, err);
  if (!pr.model.empty() && pr.model != model_name) {
    return send_error(res, {404, "The model '" + pr.model + "' does not exist; this server serves '" + model_name + "'",
                            "invalid_request_error", "model", "model_not_found"});
  }
  std::string key = worker->default_swaa_key();
  SwaaConfig swaa = options.worker.engine.swaa;
  if (pr.swaa) {
    key = swaa_key(*pr.swaa);
    swaa = *pr.swaa;
    if (key != worker->default_swaa_key() && options.worker.max_swaa_engines == 0) {
      return send_error(res, {400, "this server runs SWAA settings " + worker->default_swaa_key() +
                                       " only; the request's 'swaa' " + key +
                                       " would need its own engine (start the server with --swaa-engines N)",
                              "invalid_request_error", "swaa", "unsupported_parameter"});
    }
  }
  std::vector<std::vector<int32_t>> prompts;
  if (!prepare_prompts(pr, worker->tokenizer(), worker->max_model_len(), worker->vocab_size(), prompts, err,
                       worker->kv_sequence_tokens())) {
    return send_error(res, err);
  }
  auto job = std::make_shared<Job>();
  job->ctx = make_context(endpoint, model_name);
  job->worker = worker.get();
  job->include_usage = pr.include_usage;
  job->logprobs = pr.sampling.logprobs >= 0;
  job->skip_special_tokens = pr.sampling.skip_special_tokens;
  std::vector<EngineWorker::Sequence> seqs;
  for (const auto& ids : prompts) {
    job->prompt_tokens += static_cast<int64_t>(ids.size());
    for (int c = 0; c < pr.n; ++c) {
      EngineWorker::Sequence s{ids, pr.sampling};
      if (s.params.seed) *s.params.seed += static_cast<uint64_t>(c);  // n choices must differ
      seqs.push_back(std::move(s));
    }
  }
  switch (worker->admit(key, static_cast<int>(seqs.size()))) {
    case EngineWorker::Admit::kOk: break;
    case EngineWorker::Admit::kTooLarge:
      return send_error(res, {400, "the request asks for " + std::to_string(seqs.size()) +
                                       " sequences (prompts x n); this server admits at most " +
                                       std::to_string(options.worker.engine.max_num_seqs + options.worker.max_queued_requests),
                              "invalid_request_error", "n", "invalid_value"});
    case EngineWorker::Admit::kQueueFull:
      res.set_header("Retry-After", "1");
      return send_error(res, {503, "the server is at capacity (" + std::to_string(options.worker.engine.max_num_seqs) +
                                       " running + " + std::to_string(options.worker.max_queued_requests) +
                                       " queued sequences); retry later",
                              "server_error", "", "queue_full"});
    case EngineWorker::Admit::kNoEngineSlot:
      res.set_header("Retry-After", "1");
      return send_error(res, {503, "all " + std::to_string(options.worker.max_swaa_engines) +
                                       " extra SWAA engines hold other settings; the request's 'swaa' " + key +
                                       " cannot get one (raise --swaa-engines or use the server's settings)",
                              "server_error", "swaa", "swaa_engines_exhausted"});
  }
  job->handle = worker->submit(key, swaa, std::move(seqs));
  // The engine may still refuse it (e.g. prompt + max_tokens larger than the KV cache): answer
  // with that status now rather than inside a stream that already said 200.
  if (Status st = job->handle->wait_accepted(); !st.ok()) return send_error(res, engine_error(st));
  if (pr.stream) return respond_stream(std::move(job), res);
  respond_whole(*job, req, res);
}

void Server::Impl::respond_whole(const Job& job, const httplib::Request& req, httplib::Response& res) {
  std::vector<ChoiceResult> choices(job.handle->num_choices());
  std::vector<PendingLogprobs> logprobs(job.logprobs ? choices.size() : 0);
  // Without a write to fail, a client that left is seen by peeking at its socket.
  const int fd = find_connection_fd(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
  while (true) {
    RequestHandle::Batch b = job.handle->wait(kPoll);
    if (!b.done && peer_closed(fd)) {
      job.worker->abort(job.handle);
      return send_error(res, {499, "the client closed the connection", "invalid_request_error", "", "client_closed"});
    }
    for (ChoiceEvent& ev : b.events) {
      ChoiceResult& c = choices[ev.choice];
      c.text += ev.text;
      if (job.logprobs) logprobs[ev.choice].add(ev);
      if (ev.finished) {
        c.finish_reason = ev.finish_reason;
        c.completion_tokens = ev.metrics.generated_tokens;
      }
    }
    if (!b.error.ok()) {
      job.worker->abort(job.handle);
      return send_error(res, engine_error(b.error));
    }
    if (b.done) break;
  }
  for (size_t i = 0; i < logprobs.size(); ++i) {
    choices[i].logprobs = job.logprobs_formatter().format(logprobs[i].ids, logprobs[i].logprobs);
  }
  res.set_content(completion_response(job.ctx, choices, job.prompt_tokens), "application/json");
}

void Server::Impl::respond_stream(std::shared_ptr<Job> job, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  auto provider = [job](size_t, httplib::DataSink& sink) -> bool {
    auto write = [&sink](const std::string& s) { return sink.write(s.data(), s.size()); };
    const int num_choices = job->handle->num_choices();
    std::vector<bool> started(num_choices, false);
    std::vector<LogprobsFormatter> formatters;
    std::vector<PendingLogprobs> pending(job->logprobs ? num_choices : 0);
    for (int i = 0; job->logprobs && i < num_choices; ++i) formatters.push_back(job->logprobs_formatter());
    int64_t completion_tokens = 0;
    auto last_write = std::chrono::steady_clock::now();
    while (true) {
      RequestHandle::Batch b = job->handle->wait(kPoll);
      for (ChoiceEvent& ev : b.events) {
        if (ev.finished) completion_tokens += ev.metrics.generated_tokens;
        if (job->logprobs) pending[ev.choice].add(ev);
        const bool first = !started[ev.choice] && (ev.num_new_tokens > 0 || ev.finished);
        if (ev.text.empty() && !ev.finished && !first) continue;  // a prefill chunk, or text held back
        if (first) started[ev.choice] = true;
        nlohmann::ordered_json logprobs;  // null when not asked for, or no token since the last chunk
        if (job->logprobs && !pending[ev.choice].ids.empty()) {
          PendingLogprobs& p = pending[ev.choice];
          logprobs = formatters[ev.choice].format(p.ids, p.logprobs);
          p = {};
        }
        // Chat with logprobs: the role goes in a chunk of its own, as OpenAI sends it. The openai
        // npm client's stream() helper (6.x) counts the logprobs of a chunk that opens a choice twice.
        bool role = first;
        if (first && !logprobs.is_null() && job->ctx.endpoint == Endpoint::kChatCompletions) {
          if (!write(sse_chunk(job->ctx, ev.choice, "", FinishReason::kNone, true))) {
            job->worker->abort(job->handle);
            return false;
          }
          role = false;
        }
        if (!write(sse_chunk(job->ctx, ev.choice, ev.text, ev.finished ? ev.finish_reason : FinishReason::kNone, role,
                             logprobs))) {
          job->worker->abort(job->handle);
          return false;
        }
        last_write = std::chrono::steady_clock::now();
      }
      if (!b.error.ok()) {
        job->worker->abort(job->handle);
        write(sse_error(engine_error(b.error)));
        write(kSseDone);
        sink.done();
        return true;
      }
      if (b.done) {
        if (job->include_usage && !write(sse_usage(job->ctx, job->prompt_tokens, completion_tokens))) return false;
        write(kSseDone);
        sink.done();
        return true;
      }
      if (std::chrono::steady_clock::now() - last_write > kKeepAlive) {
        if (!write(": keep-alive\n\n")) {
          job->worker->abort(job->handle);
          return false;
        }
        last_write = std::chrono::steady_clock::now();
      }
    }
  };
  // Called with success=false when the connection ended early (also before the first write).
  auto releaser = [job](bool success) {
    if (!success) job->worker->abort(job->handle);
  };
  res.set_chunked_content_provider("text/event-stream", provider, releaser);
}

std::string Server::Impl::render_metrics() const {
  const WorkerStats s = worker->stats();
  std::string out = metrics.render();
  append_gauge(out, "swaa_requests_in_flight", "Admitted sequences not yet finished.", {{"", s.in_flight}});
  append_gauge(out, "swaa_num_requests_running", "Sequences in the running batch.", {{"", s.kv.num_running}});
  append_gauge(out, "swaa_num_requests_waiting", "Sequences waiting in the engine scheduler.", {{"", s.kv.num_waiting}});
  append_gauge(out, "swaa_queue_depth", "Admitted sequences not running (scheduler queue + submit queue).",
               {{"", std::max(0, s.in_flight - s.kv.num_running)}});
  append_gauge(out, "swaa_kv_cache_live_bytes", "KV cache bytes held by live sequences, per layer group.",
               {{"{group=\"full\"}", static_cast<double>(s.kv.live_bytes_full)},
                {"{group=\"windowed\"}", static_cast<double>(s.kv.live_bytes_windowed)}});
  append_gauge(out, "swaa_kv_cache_peak_live_bytes", "Largest KV cache use seen.", {{"", static_cast<double>(s.kv.peak_live_bytes)}});
  append_gauge(out, "swaa_kv_cache_capacity_bytes", "KV cache capacity.", {{"", static_cast<double>(s.kv.capacity_bytes)}});
  append_gauge(out, "swaa_kv_cache_usage_ratio", "live / capacity.",
               {{"", s.kv.capacity_bytes > 0 ? static_cast<double>(s.kv.live_bytes) / s.kv.capacity_bytes : 0.0}});
  append_gauge(out, "swaa_engines", "Engines (1 + one per distinct per-request SWAA setting).", {{"", s.num_engines}});
  append_gauge(out, "swaa_healthy", "1 until an engine step fails.", {{"", s.healthy ? 1.0 : 0.0}});
  return out;
}

}  // namespace swaa::server
