// ProgressReporter: progress of long work on stderr ("prefill 4096/8192 tokens (50%), 812 tok/s").
// On a terminal one line is rewritten in place at most 10 times a second; otherwise a line is
// printed at most every 5 seconds, so logs stay short. Silent for work that ends within 1 second.
#pragma once

#include <chrono>
#include <string>

namespace swaa {

class ProgressReporter {
 public:
  ProgressReporter(std::string label, std::string unit, long total);
  ~ProgressReporter();
  void update(long done);
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void print(long done, bool final);

  std::string label_, unit_;
  long total_;
  bool tty_;
  bool printed_ = false;
  bool finished_ = false;
  long last_done_ = 0;
  Clock::time_point start_, last_print_;
};

}  // namespace swaa
