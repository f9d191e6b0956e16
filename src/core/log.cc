// Logging sink: one line per message on stderr, prefixed with the level.
#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace swaa::log {
namespace {

Level level_from_env() {
  const char* env = std::getenv("SWAA_LOG_LEVEL");
  if (env == nullptr) return Level::kInfo;
  if (std::strcmp(env, "debug") == 0) return Level::kDebug;
  if (std::strcmp(env, "warn") == 0) return Level::kWarn;
  if (std::strcmp(env, "error") == 0) return Level::kError;
  if (std::strcmp(env, "off") == 0) return Level::kOff;
  return Level::kInfo;
}

std::atomic<Level>& current() {
  static std::atomic<Level> level{level_from_env()};
  return level;
}

}  // namespace

Level threshold() { return current().load(std::memory_order_relaxed); }
void set_threshold(Level level) { current().store(level, std::memory_order_relaxed); }

void write(Level level, std::string_view message) {
  static const char* kNames[] = {"debug", "info", "warning", "error", ""};
  std::fprintf(stderr, "swaa %s: %.*s\n", kNames[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace swaa::log
