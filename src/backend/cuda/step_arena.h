// StepArena: a step's small host arrays (batch layout, token ids, logit rows) staged in pinned host
// memory and mirrored in device memory. `stage` appends to the host side and returns where the
// data will be on the device; `flush` enqueues one copy of everything staged since the last flush.
// A recorded step graph holds its own arena: its copy nodes read the pinned buffer when the graph
// runs, so replaying a step is restaging the same arrays in the same order without flushing.
// The caller makes sure no enqueued copy still reads the arena before `reset` (events, syncs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace swaa {

class StepArena {
 public:
  StepArena() = default;
  ~StepArena();
  StepArena(const StepArena&) = delete;
  StepArena& operator=(const StepArena&) = delete;

  // Empties the arena with room for at least `bytes` (regrows both buffers when needed).
  // Returns "" or a CUDA error message.
  std::string reset(size_t bytes);
  // Copies n bytes in at the next 256-byte boundary; returns the device address they will have,
  // or nullptr when the arena is full (capacity is checked by the caller's reset).
  const void* stage(const void* data, size_t n);
  // Enqueues the host-to-device copy of everything staged since the last flush on `stream`.
  std::string flush(void* stream);

  size_t used() const { return used_; }
  static size_t padded(size_t n) { return (n + 255) / 256 * 256; }

 private:
  uint8_t* host_ = nullptr;  // pinned
  uint8_t* dev_ = nullptr;
  size_t capacity_ = 0, used_ = 0, flushed_ = 0;
};

}  // namespace swaa
