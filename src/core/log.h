// Minimal leveled logging to stderr. Warnings are for recoverable surprises in user input
// (e.g. a layer index beyond the model's layer count); errors travel as Status, not logs.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace swaa::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// Messages below this level are dropped. Default kInfo; SWAA_LOG_LEVEL=debug|info|warn|error|off.
Level threshold();
void set_threshold(Level level);
void write(Level level, std::string_view message);

template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::kWarn) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace swaa::log
