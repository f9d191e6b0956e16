// `swaa`: the command-line entry point. Argument parsing only; the work is done by the public
// API (include/swaa/). Exit codes: 0 ok, 1 error (message on stderr), 2 usage error.
#include <cstdio>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"swaa: LLM inference with Sliding Window Attention Adaptation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "swaa 0.1.0");
  swaa::cli::register_score(app);
  swaa::cli::register_tokenize(app);
  swaa::cli::register_generate(app);
  swaa::cli::register_chat(app);
  swaa::cli::register_bench(app);
  swaa::cli::register_eval(app);
  swaa::cli::register_serve(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const swaa::cli::CliError& e) {
    const CLI::App* sub = app.get_subcommands().empty() ? &app : app.get_subcommands().front();
    std::fprintf(stderr, "swaa %s: error: %s\n", sub->get_name().c_str(), e.what());
    return 1;
  }
  return 0;
}
