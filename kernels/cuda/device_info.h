// Host-callable CUDA device queries (no CUDA headers leak out of this header).
#pragma once

namespace swaa::cuda {

// Number of visible CUDA devices; 0 when no driver or GPU is present.
int device_count();
// Compute capability as major*10+minor (90 for H100/H200); -1 on error.
int compute_capability(int device);
// Streaming multiprocessors of the current device, queried once per device (132 when the query
// fails): launchers that size their grids by it call this per launch.
int num_sms();

}  // namespace swaa::cuda
