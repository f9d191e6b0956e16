// popen-based command runner for CLI tests.
#include "support/run_command.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace swaa::testing {

CommandResult run_command(const std::string& command_line) {
  CommandResult r;
  FILE* p = popen(command_line.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

CommandResult run_swaa(const std::string& args) {
  return run_command(std::string(SWAA_BINARY_DIR) + "/swaa " + args + " 2>&1");
}

}  // namespace swaa::testing
