// Subcommands of the `swaa` CLI (DESIGN.md §3). Each register_* adds its subcommand to the app
// and sets its callback; callbacks throw CliError for failures, which main() prints and turns
// into exit code 1.
#pragma once

#include <CLI/CLI.hpp>
#include <stdexcept>
#include <string>

namespace swaa::cli {

struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void register_score(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_generate(CLI::App& app);
void register_chat(CLI::App& app);
void register_bench(CLI::App& app);
void register_eval(CLI::App& app);
void register_serve(CLI::App& app);

}  // namespace swaa::cli
