// Prometheus text rendering for ServerMetrics. Bucket bounds: TTFT spans 1 ms (a short prompt
// on a tiny model) to 60 s (a 128k prompt on CPU); inter-token latency 0.5 ms to 5 s.
#include "server/server_metrics.h"

#include <cstdio>

namespace swaa::server {
namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value, uint64_t times) {
  size_t b = 0;
  while (b < bounds_.size() && value > bounds_[b]) ++b;
  counts_[b] += times;
  sum_ += value * static_cast<double>(times);
  count_ += times;
}

void Histogram::render(const std::string& name, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= bounds_.size(); ++b) {
    cumulative += counts_[b];
    const std::string le = b < bounds_.size() ? num(bounds_[b]) : "+Inf";
    out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

ServerMetrics::ServerMetrics()
    : ttft_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60}),
      inter_token_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}),
      e2e_({0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}) {}

void ServerMetrics::count_http(const std::string& path, int status) {
  std::lock_guard lk(mu_);
  ++http_[{path, status}];
}

void ServerMetrics::count_generated(int64_t tokens) {
  std::lock_guard lk(mu_);
  generated_tokens_ += static_cast<uint64_t>(tokens);
}

void ServerMetrics::count_finished(int64_t prompt_tokens, const std::string& reason, double e2e_seconds) {
  std::lock_guard lk(mu_);
  prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
  ++finished_[reason];
  e2e_.observe(e2e_seconds);
}

void ServerMetrics::observe_ttft(double seconds) {
  std::lock_guard lk(mu_);
  ttft_.observe(seconds);
}

void ServerMetrics::observe_inter_token(double seconds, uint64_t tokens) {
  std::lock_guard lk(mu_);
  inter_token_.observe(seconds, tokens);
}

std::string ServerMetrics::render() const {
  std::lock_guard lk(mu_);
  std::string out;
  out += "# HELP swaa_http_requests_total HTTP requests by path and status code.\n"
         "# TYPE swaa_http_requests_total counter\n";
  for (const auto& [key, n] : http_) {
    out += "swaa_http_requests_total{path=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP swaa_requests_finished_total Sequences (choices) that left the engine, by finish reason.\n"
         "# TYPE swaa_requests_finished_total counter\n";
  for (const char* r : {"stop", "length", "abort", "error"}) {
    auto it = finished_.find(r);
    out += std::string("swaa_requests_finished_total{finish_reason=\"") + r + "\"} " +
           std::to_string(it == finished_.end() ? 0 : it->second) + "\n";
  }
  out += "# HELP swaa_prompt_tokens_total Prompt tokens of finished sequences.\n# TYPE swaa_prompt_tokens_total counter\n";
  out += "swaa_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  out += "# HELP swaa_generation_tokens_total Generated tokens.\n# TYPE swaa_generation_tokens_total counter\n";
  out += "swaa_generation_tokens_total " + std::to_string(generated_tokens_) + "\n";
  out += "# HELP swaa_time_to_first_token_seconds Request added to first generated token.\n"
         "# TYPE swaa_time_to_first_token_seconds histogram\n";
  ttft_.render("swaa_time_to_first_token_seconds", out);
  out += "# HELP swaa_inter_token_latency_seconds Time per generated token after the first.\n"
         "# TYPE swaa_inter_token_latency_seconds histogram\n";
  inter_token_.render("swaa_inter_token_latency_seconds", out);
  out += "# HELP swaa_e2e_request_latency_seconds Request added to finished.\n"
         "# TYPE swaa_e2e_request_latency_seconds histogram\n";
  e2e_.render("swaa_e2e_request_latency_seconds", out);
  return out;
}

void append_gauge(std::string& out, const std::string& name, const std::string& help,
                  const std::vector<std::pair<std::string, double>>& labelled_values) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
  for (const auto& [labels, v] : labelled_values) out += name + labels + " " + num(v) + "\n";
}

}  // namespace swaa::server
