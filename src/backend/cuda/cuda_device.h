// Describes a visible CUDA device ("cuda:0 (sm_90)") or explains why none is usable.
#pragma once

#include <string>

#include "swaa/status.h"

namespace swaa {

Result<std::string> describe_cuda_device(int device);

}  // namespace swaa
