// Flags shared by the commands that run the engine (generate, chat, bench): model and engine
// options, the SWAA flags, sampling flags, and prompt input (-p / -f / --messages / --chat).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "swaa/engine.h"
#include "swaa/sampling_params.h"
#include "swaa_flags.h"

namespace swaa::cli {

struct EngineFlags {
  std::string model = "swaa-tiny";
  std::string device = "cpu";
  int threads = 0;
  int block_size = 16;
  double kv_cache_gib = 4.0;
  int max_num_seqs = 16;
  int max_num_batched_tokens = 512;
  int max_model_len = 0;
  SwaaFlags swaa;

  CLI::Option* max_num_seqs_option = nullptr;  // set by add_to

  void add_to(CLI::App& cmd);
  EngineOptions resolve() const;  // throws CliError
  bool max_num_seqs_given() const { return max_num_seqs_option != nullptr && max_num_seqs_option->count() > 0; }
};

struct SamplingFlags {
  int max_tokens = 256;
  float temperature = 0.7f, top_p = 0.95f, min_p = 0.0f;
  int top_k = 0;
  float repetition_penalty = 1.0f, presence_penalty = 0.0f, frequency_penalty = 0.0f;
  int64_t seed = -1;
  std::vector<std::string> stop;
  bool ignore_eos = false;

  void add_to(CLI::App& cmd);
  SamplingParams resolve() const;  // throws CliError on invalid values
};

struct PromptFlags {
  std::string prompt, file, messages_file;
  bool chat = false, no_think = false;

  void add_to(CLI::App& cmd);
  RequestInput resolve() const;  // throws CliError (no prompt, unreadable file)
};

// Creates the engine, turning errors into CliError.
std::unique_ptr<Engine> make_engine(const EngineOptions& options);

// Ctrl-C handling: install() makes SIGINT set a flag instead of killing the process; a second
// Ctrl-C while the flag is still set exits at once.
namespace interrupt {
void install();
bool requested();
void clear();
}  // namespace interrupt

}  // namespace swaa::cli
