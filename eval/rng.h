// Rng: the eval harness's seeded random source. SplitMix64 with our own uniform/shuffle so the
// same seed gives the same tasks on every platform and standard library (std distributions are
// implementation-defined). Tests: tests/unit/eval/generators_test.cc (determinism).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace swaa::eval {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) without modulo bias; n >= 1.
  uint64_t uniform(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next(); while (x >= limit);
    return x % n;
  }
  int uniform_int(int lo, int hi) { return lo + static_cast<int>(uniform(static_cast<uint64_t>(hi - lo + 1))); }
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[uniform(v.size())]; }
  template <typename T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform(i)]);
  }

 private:
  uint64_t state_;
};

// Mixes a seed with labels into an independent stream seed (FNV-1a over the label, then SplitMix).
inline uint64_t derive_seed(uint64_t seed, std::string_view label, uint64_t a = 0, uint64_t b = 0) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : label) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  Rng r(seed ^ h);
  r.next();
  Rng r2(r.next() ^ (a * 0x9E3779B97F4A7C15ULL) ^ (b + 0x632BE59BD9B4E019ULL));
  return r2.next();
}

}  // namespace swaa::eval
