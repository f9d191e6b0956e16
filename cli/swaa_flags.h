// The SWAA flags shared by every command that runs a model (DESIGN.md §3, same names as the
// paper's server): --sliding-window-size, --keep-first, --force-fa-decode, --non-sliding-layers,
// --swaa-config. Values are kept as strings and parsed by the public API for precise errors.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "swaa/swaa_config.h"

namespace swaa::cli {

struct SwaaFlags {
  std::string config_file;
  std::string window, keep_first, force_fa_decode, non_sliding_layers;

  void add_to(CLI::App& cmd);
  // --swaa-config first, then each explicit flag overrides its field. Throws CliError.
  SwaaConfig resolve() const;
};

// -m: a checkpoint directory, or the name of the embedded default model ("swaa-tiny").
// Throws CliError naming what was looked for.
std::string resolve_model_dir(const std::string& model);

}  // namespace swaa::cli
