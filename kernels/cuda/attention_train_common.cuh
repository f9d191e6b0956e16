// Constants shared by the SWAA training kernels (attention_train_fwd.cu, attention_train_bwd.cu); the
// mask rule and tile ranges they use are in attention_train_tiles.h (host and device).
#pragma once

namespace swaa::cuda::train {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

}  // namespace swaa::cuda::train
