// Switches read from the environment (for comparisons and bring-up, docs/performance.md lists them).
#pragma once

#include <cstdlib>
#include <cstring>

namespace swaa {

// Whether the environment variable `name` is set to "0" (its switch turned off).
inline bool env_switched_off(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "0") == 0;
}

}  // namespace swaa
