// Runs a shell command line for CLI tests and returns its exit code and its combined output
// (append "2>&1" to capture stderr). A command killed by a signal reports 128 + the signal.
#pragma once

#include <string>

namespace swaa::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
};

CommandResult run_command(const std::string& command_line);

// `SWAA_BINARY_DIR/swaa ARGS 2>&1`
CommandResult run_swaa(const std::string& args);

}  // namespace swaa::testing
