// CUDA implementation of the Backend interface (see cuda_backend.h).
#include "backend/cuda/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

#include "backend/moe_routing.h"
#include "core/check.h"
#include "ops.h"
#include "swaa_attention.h"

namespace swaa {
namespace {

#define SWAA_CUDA_OK(expr)                                                          \
  do {                                                                              \
    const std::string _e = (expr);                                                  \
    if (!_e.empty()) {                                                              \
      std::fprintf(stderr, "swaa cuda error at %s:%d: %s\n", __FILE__, __LINE__, _e.c_str()); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

std::string cuda_msg(cudaError_t e) { return e == cudaSuccess ? "" : cudaGetErrorString(e); }

// Caching device allocator: freed buffers go to a free list keyed by rounded size.
class DevicePool {
 public:
  ~DevicePool() {
    for (auto& [size, list] : free_) {
      for (void* p : list) cudaFree(p);
    }
  }
  Result<std::shared_ptr<void>> get(size_t bytes) {
    bytes = std::max<size_t>(256, (bytes + 255) / 256 * 256);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
      }
    }
    if (p == nullptr && cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();
      return resource_exhausted("cudaMalloc of " + std::to_string(bytes) + " bytes failed (GPU memory full)");
    }
    return std::shared_ptr<void>(p, [this, bytes](void* q) {
      std::lock_guard<std::mutex> lock(mu_);
      free_[bytes].push_back(q);
    });
  }

 private:
  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    cudaSetDevice(device);
    cublasCreate(&cublas_);
    cudaDeviceGetAttribute(&num_sms_, cudaDevAttrMultiProcessorCount, device);
  }
  ~CudaBackend() override {
    layout_buffers_.clear();
    cublasDestroy(cublas_);
  }

  std::string name() const override { return "cuda"; }
  DType compute_dtype() const override { return DType::kBF16; }

  Result<Tensor> alloc(const std::vector<int64_t>& shape, DType dtype) override {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    SWAA_ASSIGN_OR_RETURN(std::shared_ptr<void> buf, pool_->get(static_cast<size_t>(n) * dtype_size(dtype)));
    if (cudaMemset(buf.get(), 0, static_cast<size_t>(n) * dtype_size(dtype)) != cudaSuccess) {
      return internal_error("cudaMemset failed");
    }
    return Tensor(std::move(buf), dtype, shape);
  }
  Result<Tensor> alloc(const std::vector<int64_t>& shape) override { return alloc(shape, DType::kBF16); }

  Result<Tensor> upload(const TensorView& w) override {
    std::vector<uint16_t> host(static_cast<size_t>(w.numel()));
    if (w.dtype == DType::kBF16) {
      std::memcpy(host.data(), w.data, w.num_bytes);
    } else {
      std::vector<float> f(host.size());
      convert_to_f32(w.dtype, w.data, f.data(), f.size());
      for (size_t i = 0; i < f.size(); ++i) host[i] = f32_to_bf16(f[i]);
    }
    SWAA_ASSIGN_OR_RETURN(Tensor t, alloc(w.shape, DType::kBF16));
    const std::string e = cuda_msg(cudaMemcpy(t.data(), host.data(), host.size() * 2, cudaMemcpyHostToDevice));
    if (!e.empty()) return internal_error("uploading " + w.name + ": " + e);
    return t;
  }

  void to_host_f32(const Tensor& t, int64_t row_begin, int64_t row_end, float* dst) override {
    const int64_t cols = t.numel() / t.dim(0);
    const int64_t n = (row_end - row_begin) * cols;
    if (t.dtype() == DType::kF32) {
      SWAA_CUDA_OK(cuda_msg(cudaMemcpy(dst, t.data_as<float>() + row_begin * cols, n * 4, cudaMemcpyDeviceToHost)));
      return;
    }
    std::vector<uint16_t> host(n);
    SWAA_CUDA_OK(cuda_msg(cudaMemcpy(host.data(), t.data_as<uint16_t>() + row_begin * cols, n * 2, cudaMemcpyDeviceToHost)));
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(host[i]);
  }

  void begin_step(const AttentionLayout& L) override {
    layout_ = &L;
    layout_buffers_.clear();
    d_cu_seqlens_ = upload_ints(L.cu_seqlens_q);
    d_positions_ = upload_ints(L.positions);
    d_seqlen_k_ = upload_ints(L.seqlen_k);
    d_generated_ = upload_bytes(L.generated.data(), L.generated.size());
    for (int g = 0; g < kNumKvGroups; ++g) {
      d_block_tables_[g] = upload_ints(L.block_tables[g]);
      d_slots_[g] = upload_ints(L.slot_mapping[g]);
    }
    max_seqlen_q_ = 0;
    for (int s = 0; s < L.num_seqs; ++s) max_seqlen_q_ = std::max(max_seqlen_q_, L.cu_seqlens_q[s + 1] - L.cu_seqlens_q[s]);
    max_seqlen_k_ = L.seqlen_k.empty() ? 0 : *std::max_element(L.seqlen_k.begin(), L.seqlen_k.end());
    all_single_query_ = max_seqlen_q_ <= 1;
  }

  void embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) override {
    const int* d_ids = upload_ints(std::vector<int>(ids.begin(), ids.end()));
    SWAA_CUDA_OK(cuda::embedding(table.data(), d_ids, static_cast<int>(ids.size()), static_cast<int>(table.dim(1)),
                                 out.data(), nullptr));
  }
  void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) override {
    const int d = static_cast<int>(w.numel());
    SWAA_CUDA_OK(cuda::rms_norm(x.data(), w.data(), static_cast<int>(x.numel() / d), d, eps, out.data(), nullptr));
  }
  void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) override {
    const int in = static_cast<int>(w.dim(1)), outf = static_cast<int>(w.dim(0));
    const int n = static_cast<int>(x.numel() / in);
    if (n == 0) return;
    const float alpha = 1.f, beta = 0.f;
    const bool f32_out = out.dtype() == DType::kF32;
    const cublasStatus_t st = cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, outf, n, in, &alpha, w.data(), CUDA_R_16BF,
                                           in, x.data(), CUDA_R_16BF, in, &beta, out.data(),
                                           f32_out ? CUDA_R_32F : CUDA_R_16BF, outf, CUBLAS_COMPUTE_32F,
                                           CUBLAS_GEMM_DEFAULT);
    SWAA_CHECK(st == CUBLAS_STATUS_SUCCESS);
    if (bias != nullptr) SWAA_CUDA_OK(cuda::add_bias(out.data(), f32_out, bias->data(), n, outf, nullptr));
  }
  void gather_rows(const Tensor& x, const std::vector<int>& rows, Tensor& out) override {
    const int* d_rows = upload_ints(rows);
    SWAA_CUDA_OK(cuda::gather_rows(x.data(), x.dtype() == DType::kF32, d_rows, static_cast<int>(rows.size()),
                                   static_cast<int>(x.numel() / x.dim(0)), out.data(), nullptr));
  }
  void add_inplace(Tensor& x, const Tensor& y) override {
    SWAA_CUDA_OK(cuda::add_inplace(x.data(), y.data(), x.numel(), nullptr));
  }
  void rope(Tensor& x, const std::vector<float>& inv_freq, double scaling) override {
    if (inv_freq_host_ != inv_freq) {
      inv_freq_host_ = inv_freq;
      d_inv_freq_ = pool_->get(inv_freq.size() * 4).value();
      SWAA_CUDA_OK(cuda_msg(cudaMemcpy(d_inv_freq_.get(), inv_freq.data(), inv_freq.size() * 4, cudaMemcpyHostToDevice)));
    }
    SWAA_CUDA_OK(cuda::rope(x.data(), d_positions_, static_cast<const float*>(d_inv_freq_.get()),
                            static_cast<int>(x.dim(0)), static_cast<int>(x.dim(1)), static_cast<int>(x.dim(2)),
                            static_cast<float>(scaling), nullptr));
  }
  void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) override {
    SWAA_CUDA_OK(cuda::silu_mul(gate.data(), up.data(), out.data(), gate.numel(), nullptr));
  }
  void kv_write(const Tensor& k, const Tensor& v, KvGroup group, Tensor& kc, Tensor& vc) override {
    const int n = static_cast<int>(k.dim(0));
    SWAA_CUDA_OK(cuda::kv_write(k.data(), v.data(), d_slots_[static_cast<int>(group)], n,
                                static_cast<int>(k.numel() / std::max(n, 1)), kc.data(), vc.data(), nullptr));
  }
  void attention(const Tensor& q, const Tensor& kc, const Tensor& vc, KvGroup group, const LayerPolicy& policy,
                 float scale, Tensor& out) override {
    const int g = static_cast<int>(group);
    cuda::AttentionParams p;
    p.q = q.data();
    p.out = out.data();
    p.k_cache = kc.data();
    p.v_cache = vc.data();
    p.cu_seqlens_q = d_cu_seqlens_;
    p.positions = d_positions_;
    p.generated = d_generated_;
    p.seqlen_k = d_seqlen_k_;
    p.block_table = d_block_tables_[g];
    p.num_seqs = layout_->num_seqs;
    p.num_tokens = layout_->num_tokens;
    p.max_seqlen_q = max_seqlen_q_;
    p.max_seqlen_k = max_seqlen_k_;
    p.num_heads = static_cast<int>(q.dim(1));
    p.num_kv_heads = static_cast<int>(kc.dim(1));
    p.head_dim = static_cast<int>(q.dim(2));
    p.block_size = layout_->block_size;
    p.max_blocks = std::max(1, layout_->max_blocks[g]);
    p.sliding = policy.sliding;
    p.window = policy.window;
    p.keep_first = policy.keep_first;
    p.fa_decode = policy.fa_decode;
    p.softmax_scale = scale;
    const bool tiled = (p.head_dim == 64 || p.head_dim == 128) &&
                       p.num_heads / p.num_kv_heads <= cuda::kDecodeMaxGroup;
    if (!tiled) {
      SWAA_CUDA_OK(cuda::attention_simple(p, nullptr));
      return;
    }
    if (all_single_query_) {
      const int splits = cuda::decode_num_splits(p, num_sms_);
      const size_t ws_bytes = cuda::decode_workspace_bytes(p, splits);
      std::shared_ptr<void> ws;
      if (ws_bytes > 0) ws = pool_->get(ws_bytes).value();
      SWAA_CUDA_OK(cuda::attention_decode(p, splits, ws.get(), nullptr));
      return;
    }
    SWAA_CUDA_OK(cuda::attention_prefill(p, nullptr));
  }
  void moe(const Tensor& x, const MoeWeights& w, Tensor& out) override {
    const int64_t n = x.dim(0), hidden = x.dim(1), E = w.router.dim(0);
    Tensor logits = alloc({n, E}, DType::kF32).value();
    linear(x, w.router, nullptr, logits);
    std::vector<float> lg(n * E);
    to_host_f32(logits, 0, n, lg.data());
    const auto routed = route_top_k(lg.data(), n, E, w.top_k, w.norm_topk_prob);
    Tensor acc = alloc({n, hidden}, DType::kF32).value();
    for (int64_t e = 0; e < E; ++e) {
      if (routed[e].empty()) continue;
      const int m = static_cast<int>(routed[e].size());
      std::vector<int> rows(m);
      std::vector<float> weights(m);
      for (int i = 0; i < m; ++i) {
        rows[i] = routed[e][i].first;
        weights[i] = routed[e][i].second;
      }
      const int inter = static_cast<int>(w.gate[e].dim(0));
      Tensor xe = alloc({m, hidden}).value(), g = alloc({m, inter}).value(), u = alloc({m, inter}).value(),
             y = alloc({m, hidden}).value();
      gather_rows(x, rows, xe);
      linear(xe, w.gate[e], nullptr, g);
      linear(xe, w.up[e], nullptr, u);
      silu_mul(g, u, g);
      linear(g, w.down[e], nullptr, y);
      const int* d_rows = upload_ints(rows);
      std::shared_ptr<void> d_w = pool_->get(m * 4).value();
      SWAA_CUDA_OK(cuda_msg(cudaMemcpy(d_w.get(), weights.data(), m * 4, cudaMemcpyHostToDevice)));
      SWAA_CUDA_OK(cuda::scatter_add_weighted(acc.data_as<float>(), y.data(), d_rows, static_cast<const float*>(d_w.get()),
                                              m, static_cast<int>(hidden), nullptr));
    }
    SWAA_CUDA_OK(cuda::f32_to_bf16(acc.data_as<float>(), out.data(), n * hidden, nullptr));
  }

 private:
  // Uploads small per-step host arrays; the buffers live until the next begin_step.
  const int* upload_ints(const std::vector<int>& v) {
    return static_cast<const int*>(upload_bytes(v.data(), v.size() * sizeof(int)));
  }
  const uint8_t* upload_bytes(const uint8_t* data, size_t n) { return static_cast<const uint8_t*>(upload_bytes(static_cast<const void*>(data), n)); }
  const void* upload_bytes(const void* data, size_t n) {
    std::shared_ptr<void> buf = pool_->get(std::max<size_t>(n, 4)).value();
    if (n > 0) SWAA_CUDA_OK(cuda_msg(cudaMemcpy(buf.get(), data, n, cudaMemcpyHostToDevice)));
    layout_buffers_.push_back(buf);
    return buf.get();
  }

  int device_;
  std::shared_ptr<DevicePool> pool_ = std::make_shared<DevicePool>();
  cublasHandle_t cublas_ = nullptr;
  int num_sms_ = 132;
  const AttentionLayout* layout_ = nullptr;
  std::vector<std::shared_ptr<void>> layout_buffers_;
  const int* d_cu_seqlens_ = nullptr;
  const int* d_positions_ = nullptr;
  const int* d_seqlen_k_ = nullptr;
  const uint8_t* d_generated_ = nullptr;
  const int* d_block_tables_[kNumKvGroups] = {};
  const int* d_slots_[kNumKvGroups] = {};
  int max_seqlen_q_ = 0, max_seqlen_k_ = 0;
  bool all_single_query_ = false;
  std::vector<float> inv_freq_host_;
  std::shared_ptr<void> d_inv_freq_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_cuda_backend(int device) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    cudaGetLastError();
    return unimplemented("--device cuda: no CUDA device is visible (driver missing or no GPU on this machine)");
  }
  if (device < 0 || device >= n) {
    return invalid_argument("CUDA device " + std::to_string(device) + " does not exist; " + std::to_string(n) + " visible");
  }
  return std::unique_ptr<Backend>(new CudaBackend(device));
}

}  // namespace swaa
