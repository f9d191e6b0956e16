// CPU ops: memory, embedding, RMSNorm, GEMM (OpenBLAS), RoPE, SwiGLU, KV writes.
// Attention lives in cpu_attention.cc, MoE in cpu_moe.cc.
#include "backend/cpu/cpu_backend.h"

#include <cblas.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <cstdlib>

#include "core/check.h"

namespace swaa {

CpuBackend::CpuBackend(int num_threads) {
  if (num_threads > 0) {
    omp_set_num_threads(num_threads);
    openblas_set_num_threads(num_threads);
  }
}

Result<std::unique_ptr<Backend>> make_cpu_backend(int num_threads) {
  if (num_threads < 0) return invalid_argument("--threads must be >= 0 (0 = all cores), got " + std::to_string(num_threads));
  return std::unique_ptr<Backend>(new CpuBackend(num_threads));
}

Result<Tensor> CpuBackend::alloc(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  // calloc: large buffers (the KV cache) get zero pages from the OS on first touch, so a cache
  // sized for many long sequences costs nothing until it is used.
  void* p = std::calloc(static_cast<size_t>(std::max<int64_t>(n, 1)), sizeof(float));
  if (p == nullptr) {
    return resource_exhausted("cannot allocate " + std::to_string(n * 4) + " bytes of host memory");
  }
  return Tensor(std::shared_ptr<void>(p, [](void* q) { std::free(q); }), DType::kF32, shape);
}

Result<Tensor> CpuBackend::upload(const TensorView& weight) {
  SWAA_ASSIGN_OR_RETURN(Tensor t, alloc(weight.shape));
  convert_to_f32(weight.dtype, weight.data, t.data_as<float>(), static_cast<size_t>(weight.numel()));
  return t;
}

void CpuBackend::to_host_f32(const Tensor& t, int64_t row_begin, int64_t row_end, float* dst) {
  const int64_t cols = t.numel() / t.dim(0);
  std::memcpy(dst, t.data_as<float>() + row_begin * cols, static_cast<size_t>((row_end - row_begin) * cols) * 4);
}

void CpuBackend::embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) {
  const int64_t h = table.dim(1);
  SWAA_CHECK(out.numel() == static_cast<int64_t>(ids.size()) * h);
  const float* src = table.data_as<float>();
  float* dst = out.data_as<float>();
  for (size_t i = 0; i < ids.size(); ++i) std::memcpy(dst + i * h, src + static_cast<int64_t>(ids[i]) * h, h * 4);
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  const int64_t d = weight.numel();
  const int64_t rows = x.numel() / d;
  const float* xs = x.data_as<float>();
  const float* w = weight.data_as<float>();
  float* o = out.data_as<float>();
#pragma omp parallel for if (rows > 64)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xs + r * d;
    double sum = 0;
    for (int64_t i = 0; i < d; ++i) sum += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(sum / d + eps));
    float* orow = o + r * d;
    for (int64_t i = 0; i < d; ++i) orow[i] = w[i] * (xr[i] * inv);
  }
}

void CpuBackend::linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) {
  const int64_t in = w.dim(1), outf = w.dim(0);
  const int64_t n = x.numel() / in;
  SWAA_CHECK(out.numel() == n * outf);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(outf),
              static_cast<int>(in), 1.0f, x.data_as<float>(), static_cast<int>(in), w.data_as<float>(),
              static_cast<int>(in), 0.0f, out.data_as<float>(), static_cast<int>(outf));
  if (bias != nullptr) {
    const float* b = bias->data_as<float>();
    float* o = out.data_as<float>();
#pragma omp parallel for if (n > 64)
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t c = 0; c < outf; ++c) o[r * outf + c] += b[c];
    }
  }
}

void CpuBackend::gather_rows(const Tensor& x, const std::vector<int>& rows, Tensor& out) {
  const int64_t cols = x.numel() / x.dim(0);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(out.data_as<float>() + i * cols, x.data_as<float>() + rows[i] * cols, cols * 4);
  }
}

void CpuBackend::add_inplace(Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  float* a = x.data_as<float>();
  const float* b = y.data_as<float>();
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) a[i] += b[i];
}

void CpuBackend::rope(Tensor& x, const std::vector<float>& inv_freq, double scaling) {
  SWAA_CHECK(layout_ != nullptr);
  const int64_t n = x.dim(0), heads = x.dim(1), d = x.dim(2), half = d / 2;
  SWAA_CHECK(static_cast<int64_t>(inv_freq.size()) == half && n == layout_->num_tokens);
  float* xs = x.data_as<float>();
#pragma omp parallel for if (n > 16)
  for (int64_t t = 0; t < n; ++t) {
    const double pos = layout_->positions[t];
    std::vector<float> cs(half), sn(half);
    for (int64_t i = 0; i < half; ++i) {
      const double angle = pos * static_cast<double>(inv_freq[i]);
      cs[i] = static_cast<float>(std::cos(angle) * scaling);
      sn[i] = static_cast<float>(std::sin(angle) * scaling);
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = xs + (t * heads + h) * d;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cs[i] - b * sn[i];
        v[i + half] = b * cs[i] + a * sn[i];
      }
    }
  }
}

void CpuBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) {
  const int64_t n = gate.numel();
  const float* g = gate.data_as<float>();
  const float* u = up.data_as<float>();
  float* o = out.data_as<float>();
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) o[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void CpuBackend::kv_write(const Tensor& k, const Tensor& v, KvGroup group, Tensor& k_cache, Tensor& v_cache) {
  SWAA_CHECK(layout_ != nullptr);
  const auto& slots = layout_->slot_mapping[static_cast<int>(group)];
  const int64_t n = k.dim(0), row = k.numel() / n;
  SWAA_CHECK(static_cast<int64_t>(slots.size()) == n);
  const int64_t cache_rows = k_cache.numel() / row;
  for (int64_t t = 0; t < n; ++t) {
    SWAA_CHECK(slots[t] >= 0 && slots[t] < cache_rows);
    std::memcpy(k_cache.data_as<float>() + slots[t] * row, k.data_as<float>() + t * row, row * 4);
    std::memcpy(v_cache.data_as<float>() + slots[t] * row, v.data_as<float>() + t * row, row * 4);
  }
}

}  // namespace swaa
