// Storage dtypes of checkpoint tensors and exact conversions to fp32.
// bf16 -> f32 is a 16-bit shift; f16 -> f32 handles subnormals, inf and NaN exactly.
// Tests: tests/unit/core/dtype_test.cc
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace swaa {

enum class DType : uint8_t { kF32, kBF16, kF16 };

inline size_t dtype_size(DType t) { return t == DType::kF32 ? 4 : 2; }
std::string_view dtype_name(DType t);

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Round-to-nearest-even, NaN preserved (quiet).
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float f16_to_f32(uint16_t h);
// Round-to-nearest-even; overflow to inf, subnormals kept, NaN preserved.
uint16_t f32_to_f16(float f);

// Converts n elements stored as `t` at `src` into fp32 at `dst`.
void convert_to_f32(DType t, const void* src, float* dst, size_t n);

}  // namespace swaa
