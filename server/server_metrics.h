// ServerMetrics: counters and latency histograms for GET /metrics (Prometheus text format 0.0.4).
// Thread-safe: HTTP threads count requests, the engine thread counts tokens and latencies.
// Gauges that come from the engine (KV bytes, queue depth) are written by the HTTP layer.
// Tests: tests/server/server_http_test.cc (MetricsAfterRequests).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace swaa::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value, uint64_t times = 1);
  // Appends the _bucket/_sum/_count lines of metric `name`.
  void render(const std::string& name, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last one is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void count_http(const std::string& path, int status);
  void count_generated(int64_t tokens);
  // A sequence left the engine: its prompt tokens, finish reason ("stop", "length", "abort",
  // "error") and end-to-end latency.
  void count_finished(int64_t prompt_tokens, const std::string& reason, double e2e_seconds);
  void observe_ttft(double seconds);
  void observe_inter_token(double seconds, uint64_t tokens);
  // Counters and histograms (HELP/TYPE lines included).
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> http_;
  std::map<std::string, uint64_t> finished_;
  uint64_t prompt_tokens_ = 0, generated_tokens_ = 0;
  Histogram ttft_, inter_token_, e2e_;
};

// Appends one gauge with HELP/TYPE lines; `labels` like {group="full"} or "".
void append_gauge(std::string& out, const std::string& name, const std::string& help,
                  const std::vector<std::pair<std::string, double>>& labelled_values);

}  // namespace swaa::server
