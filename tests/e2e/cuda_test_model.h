// The small random Qwen3 model the CUDA e2e tests run (hidden 256, 8/2 heads, 3 layers, vocab 512,
// sharpened attention), written to a fresh temporary directory named `name`.
#pragma once

#include <cstdint>
#include <string>

#include "support/checkpoint_writer.h"

namespace swaa::testing {

inline constexpr int kSmallCudaModelVocab = 512;

inline std::string write_small_cuda_model(const std::string& name, int head_dim, uint64_t seed) {
  RandomModelSpec spec;
  spec.hidden = 256;
  spec.heads = 8;
  spec.kv_heads = 2;
  spec.head_dim = head_dim;
  spec.layers = 3;
  spec.intermediate = 384;
  spec.vocab = kSmallCudaModelVocab;
  spec.qk_scale = 1.5f;
  spec.seed = seed;
  const std::string dir = make_temp_dir(name);
  write_random_model(dir, spec);
  return dir;
}

}  // namespace swaa::testing
