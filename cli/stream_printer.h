// StreamPrinter: writes generated text to stdout as it arrives; on a terminal the text inside
// <think>...</think> is shown dim, so reasoning and answer are told apart at a glance.
#pragma once

#include <cstdio>
#include <string>

namespace swaa::cli {

class StreamPrinter {
 public:
  StreamPrinter();
  void print(const std::string& text);
  void finish();  // resets the terminal style and ends the line

 private:
  void emit(const std::string& text);

  bool tty_;
  bool in_think_ = false;
  std::string pending_;  // a partial "<think>" / "</think>" tag waiting for more text
};

}  // namespace swaa::cli
