// SWAA_CHECK: invariants that only a bug in swaa can break (never user input; that gets a Status).
// On failure prints file:line and the condition, then aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

#define SWAA_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "swaa internal error at %s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                                  \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)
