// `swaa`: the command-line entry point. Argument parsing only; the work is done by the public
// API (include/swaa/). Exit codes: 0 ok, 1 error (message on stderr), 2 usage error.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "commands.h"

namespace {

// GNU OpenMP reads its wait policy from the environment when the library loads, before main.
// Its default spins idle threads for a while at every barrier; when the cores are shared (another
// process, the server's HTTP threads, two swaa processes) the spinning threads take the cores from
// the ones with work, and on a 2-core machine under load decode fell from 117 to 8 tokens/s
// (docs/performance.md). So unless the user chose a policy, restart once with the passive one.
void prefer_passive_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: go on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_waits(argv);
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
