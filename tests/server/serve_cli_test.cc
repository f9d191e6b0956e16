// `swaa serve` as a command: bad flags and an address already in use end with exit code 1 and a
// message naming the value (never a crash or a hang); SIGTERM stops a running server with exit 0
// (also checked by openai_contract.sh).
#include <gtest/gtest.h>
#include <httplib.h>

#include <array>
#include <cstdio>

#include "support/checkpoint_writer.h"
#include "support/run_command.h"

namespace swaa {
namespace {


// `swaa serve ARGS`, killed after 20 s if it does not exit by itself.
testing::CommandResult run(const std::string& args) {
  return testing::run_command("timeout 20 " + std::string(SWAA_BINARY_DIR) + "/swaa serve " + args + " 2>&1");
}

class ServeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::make_temp_dir("serve_cli_model"));
    testing::RandomModelSpec spec;
    spec.vocab = 300;
    testing::write_random_model(*dir_, spec);
    testing::write_byte_tokenizer(*dir_);
  }
  static void TearDownTestSuite() { delete dir_; }
  void expect_error(const std::string& args, const std::string& needle) {
    testing::CommandResult r = run("-m " + *dir_ + " --threads 1 --kv-cache-gib 0.01 " + args);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << "output lacks '" << needle << "':\n" << r.out;
  }
  static std::string* dir_;
};
std::string* ServeCli::dir_ = nullptr;

TEST_F(ServeCli, BadFlagsExitOne) {
  expect_error("--port 70000", "--port must be in [0, 65535], got 70000");
  expect_error("--max-queued-requests -1", "max_queued_requests must be >= 0, got -1");
  expect_error("--swaa-engines -2", "max_swaa_engines must be >= 0, got -2");
  expect_error("--http-threads -1", "--http-threads must be >= 0, got -1");
  expect_error("--non-sliding-layers=-1", "negative layer index -1");
  expect_error("--sliding-window-size 0", "sliding_window_size must be >= 1");
  testing::CommandResult r = run("-m /nonexistent/dir");
  EXPECT_EQ(r.exit_code, 1) << r.out;
}

TEST_F(ServeCli, AddressInUse) {
  httplib::Server blocker;
  const int port = blocker.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  expect_error("--port " + std::to_string(port), "cannot listen on 127.0.0.1:" + std::to_string(port));
}

}  // namespace
}  // namespace swaa
