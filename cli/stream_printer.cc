// Dim styling of <think> blocks on terminals; plain passthrough otherwise.
#include "stream_printer.h"

#include <unistd.h>

namespace swaa::cli {
namespace {
constexpr const char* kOpen = "<think>";
constexpr const char* kClose = "</think>";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";
}  // namespace

StreamPrinter::StreamPrinter() : tty_(isatty(STDOUT_FILENO) != 0) {}

void StreamPrinter::emit(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void StreamPrinter::print(const std::string& text) {
  if (!tty_) {
    emit(text);
    std::fflush(stdout);
    return;
  }
  std::string s = pending_ + text;
  pending_.clear();
  size_t i = 0;
  while (i < s.size()) {
    const std::string tag = in_think_ ? kClose : kOpen;
    const size_t at = s.find(tag, i);
    if (at == std::string::npos) {
      // Keep a trailing partial tag for the next piece.
      size_t keep = 0;
      for (size_t n = std::min(tag.size() - 1, s.size() - i); n > 0; --n) {
        if (s.compare(s.size() - n, n, tag, 0, n) == 0) {
          keep = n;
          break;
        }
      }
      emit(s.substr(i, s.size() - i - keep));
      pending_ = s.substr(s.size() - keep);
      break;
    }
    emit(s.substr(i, at - i));
    if (!in_think_) {
      emit(kDim);
      emit(tag);
    } else {
      emit(tag);
      emit(kReset);
    }
    in_think_ = !in_think_;
    i = at + tag.size();
  }
  std::fflush(stdout);
}

void StreamPrinter::finish() {
  emit(pending_);
  pending_.clear();
  if (tty_ && in_think_) emit(kReset);
  in_think_ = false;
  emit("\n");
  std::fflush(stdout);
}

}  // namespace swaa::cli
