// CpuBackend: exact fp32 implementation of the Backend ops. GEMMs through OpenBLAS, loops
// through OpenMP. Weights are converted to fp32 once at upload. Attention evaluates the SWAA
// mask per token from its phase and never touches a key outside sinks ∪ window.
// Tests: tests/unit/backend/cpu_ops_test.cc (against tests/reference/).
#pragma once

#include "backend/backend.h"

namespace swaa {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int num_threads);

  std::string name() const override { return "cpu"; }
  DType compute_dtype() const override { return DType::kF32; }

  Result<Tensor> alloc(const std::vector<int64_t>& shape) override;
  Result<Tensor> alloc(const std::vector<int64_t>& shape, DType) override { return alloc(shape); }
  Result<Tensor> upload(const TensorView& weight) override;
  void to_host_f32(const Tensor& t, int64_t row_begin, int64_t row_end, float* dst) override;

  void begin_step(const AttentionLayout& layout) override { layout_ = &layout; }

  void embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) override;
  void gather_rows(const Tensor& x, const std::vector<int>& rows, Tensor& out) override;
  void add_inplace(Tensor& x, const Tensor& y) override;
  void rope(Tensor& x, const std::vector<float>& inv_freq, double scaling) override;
  void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) override;
  void kv_write(const Tensor& k, const Tensor& v, KvGroup group, Tensor& k_cache, Tensor& v_cache) override;
  void attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, KvGroup group,
                 const LayerPolicy& policy, float scale, Tensor& out) override;
  void moe(const Tensor& x, const MoeWeights& w, Tensor& out) override;

 private:
  const AttentionLayout* layout_ = nullptr;  // valid between begin_step and the next step
};

}  // namespace swaa
