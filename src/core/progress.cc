// Rate-limited progress lines on stderr.
#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace swaa {

ProgressReporter::ProgressReporter(std::string label, std::string unit, long total)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(isatty(STDERR_FILENO) != 0) {
  start_ = last_print_ = Clock::now();
}

ProgressReporter::~ProgressReporter() { finish(); }

void ProgressReporter::update(long done) {
  last_done_ = done;
  const auto now = Clock::now();
  const double since_start = std::chrono::duration<double>(now - start_).count();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  if (since_start < 1.0 || since_print < (tty_ ? 0.1 : 5.0)) return;
  last_print_ = now;
  print(done, false);
}

void ProgressReporter::finish() {
  if (finished_) return;
  finished_ = true;
  if (printed_) print(last_done_, true);
}

void ProgressReporter::print(long done, bool final) {
  const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = secs > 0 ? done / secs : 0.0;
  const int pct = total_ > 0 ? static_cast<int>(100.0 * done / total_) : 0;
  std::fprintf(stderr, "%s%s %ld/%ld %s (%d%%), %.0f %s/s%s", tty_ ? "\r" : "", label_.c_str(), done, total_,
               unit_.c_str(), pct, rate, unit_.c_str(), tty_ && !final ? "" : "\n");
  std::fflush(stderr);
  printed_ = true;
}

}  // namespace swaa
