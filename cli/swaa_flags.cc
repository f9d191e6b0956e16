// SWAA flag parsing and model directory resolution for the CLI.
#include "swaa_flags.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "commands.h"

namespace swaa::cli {
namespace {

int parse_int_flag(const std::string& flag, const std::string& text) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    throw CliError(flag + ": '" + text + "' is not an integer");
  }
  return v;
}

template <typename T>
T value_or_throw(Result<T> r) {
  if (!r.ok()) throw CliError(r.status().message());
  return std::move(r).value();
}

}  // namespace

void SwaaFlags::add_to(CLI::App& cmd) {
  cmd.add_option("--swaa-config", config_file, "JSON file with the four SWAA fields (flags override it)");
  cmd.add_option("--sliding-window-size", window, "W: keys visible to a prompt token, counting itself ('none' = full)");
  cmd.add_option("--keep-first", keep_first, "S: first tokens kept visible to every query of sliding layers");
  cmd.add_option("--force-fa-decode", force_fa_decode, "true | false | layer list: generated tokens use full attention");
  cmd.add_option("--non-sliding-layers", non_sliding_layers, "layers with full attention: '1,3,5', '[1,3,5]' or '1 3 5'");
}

SwaaConfig SwaaFlags::resolve() const {
  SwaaConfig c;
  if (!config_file.empty()) c = value_or_throw(load_swaa_config(config_file));
  if (!window.empty()) {
    if (window == "none" || window == "null") {
      c.sliding_window_size.reset();
    } else {
      c.sliding_window_size = parse_int_flag("--sliding-window-size", window);
    }
  }
  if (!keep_first.empty()) c.keep_first = parse_int_flag("--keep-first", keep_first);
  if (!force_fa_decode.empty()) {
    Status st = parse_force_fa_decode(force_fa_decode, c);
    if (!st.ok()) throw CliError(st.message());
  }
  if (!non_sliding_layers.empty()) {
    c.non_sliding_layers = value_or_throw(parse_layer_list(non_sliding_layers, "--non-sliding-layers"));
  }
  Status st = validate(c);
  if (!st.ok()) throw CliError("invalid SWAA configuration: " + st.message());
  return c;
}

std::string resolve_model_dir(const std::string& model) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(model, ec)) return model;
  if (model.find('/') != std::string::npos) throw CliError("-m " + model + ": no such directory");
  std::vector<fs::path> roots;
  if (const char* env = std::getenv("SWAA_MODELS_DIR")) roots.emplace_back(env);
  roots.emplace_back(fs::path(SWAA_SOURCE_DIR) / "models");
  for (const auto& root : roots) {
    if (fs::is_directory(root / model, ec)) return (root / model).string();
  }
  std::string where;
  for (const auto& root : roots) where += " " + (root / model).string();
  throw CliError("-m " + model + ": not a directory, and no embedded model of that name (looked in" + where +
                 "). The default model swaa-tiny ships in models/swaa-tiny/ of the source tree; set SWAA_MODELS_DIR to the folder holding it if you moved it.");
}

}  // namespace swaa::cli
