// CUDA implementation of the Backend ops (see cuda_backend_impl.h; the step lifecycle is in
// cuda_step.cc).
#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <atomic>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend/cuda/cuda_backend_impl.h"
#include "backend/moe_routing.h"
#include "sampling/sampler.h"
#include "core/check.h"
#include "core/env.h"
#include "core/log.h"
#include "ops.h"
#include "swaa_attention.h"

namespace swaa {

void cuda_fail(const char* file, int line, const std::string& message) {
  std::fprintf(stderr, "swaa cuda error at %s:%d: %s\n", file, line, message.c_str());
  std::abort();
}

CudaBackend::CudaBackend(int device) : device_(device) {
  cudaSetDevice(device);
  cudaDeviceGetAttribute(&num_sms_, cudaDevAttrMultiProcessorCount, device);
  SWAA_CUDA_OK(cuda_msg(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)));
  for (cudaEvent_t& e : direct_done_) SWAA_CUDA_OK(cuda_msg(cudaEventCreateWithFlags(&e, cudaEventDisableTiming)));
  SWAA_CHECK(cublasCreate(&cublas_) == CUBLAS_STATUS_SUCCESS);
  SWAA_CHECK(cublasSetStream(cublas_, stream_) == CUBLAS_STATUS_SUCCESS);
  // A fixed workspace (after cublasSetStream, which resets it): cuBLAS then never allocates while a
  // step is being recorded into a graph. 32 MiB is NVIDIA's recommendation for Hopper.
  constexpr size_t kCublasWorkspace = 32u << 20;
  cublas_workspace_ = pool_->get(kCublasWorkspace).value();
  SWAA_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_.get(), kCublasWorkspace) == CUBLAS_STATUS_SUCCESS);
  if (env_switched_off("SWAA_CUDA_GRAPHS")) graphs_enabled_ = false;
  prefill_sm90_ = cuda::hopper_kernels_available() && !env_switched_off("SWAA_PREFILL_SM90");
  if (env_switched_off("SWAA_CUDA_GEMV")) use_gemv_ = false;
  if (env_switched_off("SWAA_CUDA_STACKED_GEMM")) use_stacked_ = false;
  if (env_switched_off("SWAA_MOE_GROUPED_GEMM")) grouped_gemm_ = false;
}

CudaBackend::~CudaBackend() {
  if (mode_ == StepMode::kRecording) abandon_recording("backend destroyed");
  cudaStreamSynchronize(stream_);
  graphs_.clear();
  cublasDestroy(cublas_);
  for (cudaEvent_t e : direct_done_) cudaEventDestroy(e);
  cudaStreamDestroy(stream_);
}

Result<Tensor> CudaBackend::scratch(const std::vector<int64_t>& shape, DType dtype) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  SWAA_ASSIGN_OR_RETURN(std::shared_ptr<void> buf, pool().get(static_cast<size_t>(n) * dtype_size(dtype)));
  return Tensor(std::move(buf), dtype, shape);
}

Result<Tensor> CudaBackend::alloc(const std::vector<int64_t>& shape, DType dtype) {
  SWAA_ASSIGN_OR_RETURN(Tensor t, scratch(shape, dtype));
  if (cudaMemsetAsync(t.data(), 0, t.num_bytes(), stream_) != cudaSuccess) return internal_error("cudaMemsetAsync failed");
  return t;
}

Result<Tensor> CudaBackend::upload(const TensorView& w) {
  std::vector<uint16_t> host(static_cast<size_t>(w.numel()));
  if (w.dtype == DType::kBF16) {
    std::memcpy(host.data(), w.data, w.num_bytes);
  } else {
    std::vector<float> f(host.size());
    convert_to_f32(w.dtype, w.data, f.data(), f.size());
    for (size_t i = 0; i < f.size(); ++i) host[i] = f32_to_bf16(f[i]);
  }
  SWAA_ASSIGN_OR_RETURN(Tensor t, scratch(w.shape, DType::kBF16));
  std::string e = cuda_msg(cudaMemcpyAsync(t.data(), host.data(), host.size() * 2, cudaMemcpyHostToDevice, stream_));
  if (e.empty()) e = cuda_msg(cudaStreamSynchronize(stream_));
  if (!e.empty()) return internal_error("uploading " + w.name + ": " + e);
  return t;
}

void CudaBackend::remember_logits(float* logits, int64_t count) {
  if (awaiting_logits_ == nullptr) return;
  awaiting_logits_->logits = logits;
  awaiting_logits_->logits_count = count;
  awaiting_logits_ = nullptr;
}

namespace {
std::atomic<int64_t> g_row_logprobs_rows{0};  // cuda_row_logprobs_rows()

// The rows of a step that report logprobs (TokenDraw::logprobs >= 0): `copy` gathers their logits
// before the penalties edit them (the draw itself only reads them), `compute` runs
// cuda::row_logprobs once the tokens are drawn and starts the copy of its results to the host, and
// `read` (after the stream's sync) turns them into compute_logprobs' output.
class StepLogprobs {
 public:
  StepLogprobs(std::span<const TokenDraw> draws, DevicePool& pool, cudaStream_t stream) : stream_(stream), pool_(&pool) {
    for (size_t r = 0; r < draws.size(); ++r) {
      if (draws[r].logprobs < 0) continue;
      rows_.push_back(static_cast<int>(r));
      tops_.push_back(draws[r].logprobs);
      num_top_ = std::max(num_top_, draws[r].logprobs);
    }
  }
  void copy(const float* logits, int cols) {
    if (rows_.empty()) return;
    cols_ = cols;
    const int n = static_cast<int>(rows_.size());
    index_ = pool_->get(rows_.size() * sizeof(int)).value();
    logits_ = pool_->get(rows_.size() * cols * sizeof(float)).value();
    out_ = pool_->get(rows_.size() * sizeof(cuda::RowLogprobs)).value();
    work_ = pool_->get(cuda::row_logprobs_workspace_bytes(n, cols)).value();
    SWAA_CUDA_OK(cuda_msg(
        cudaMemcpyAsync(index_.get(), rows_.data(), rows_.size() * sizeof(int), cudaMemcpyHostToDevice, stream_)));
    SWAA_CUDA_OK(cuda::gather_rows(logits, true, static_cast<const int*>(index_.get()), n, cols, logits_.get(), stream_));
  }
  void compute(const int32_t* d_tokens) {
    if (rows_.empty()) return;
    SWAA_CUDA_OK(cuda::row_logprobs(static_cast<const float*>(logits_.get()), static_cast<int>(rows_.size()), cols_,
                                    static_cast<const int*>(index_.get()), d_tokens, num_top_, work_.get(),
                                    static_cast<cuda::RowLogprobs*>(out_.get()), stream_));
    g_row_logprobs_rows += static_cast<int64_t>(rows_.size());
    host_.resize(rows_.size());
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(host_.data(), out_.get(), host_.size() * sizeof(cuda::RowLogprobs),
                                          cudaMemcpyDeviceToHost, stream_)));
  }
  void read(std::vector<SampleLogprobs>& out) const {
    for (size_t i = 0; i < rows_.size(); ++i) {
      const cuda::RowLogprobs& lp = host_[i];
      SampleLogprobs& s = out[rows_[i]];
      s.logprob = lp.token_logit - lp.log_norm;
      for (int j = 0; j < tops_[i]; ++j) s.top.push_back({lp.top_id[j], lp.top_logit[j] - lp.log_norm});
    }
  }

 private:
  cudaStream_t stream_;
  DevicePool* pool_;
  std::vector<int> rows_, tops_;  // the rows, and each one's number of alternatives
  int num_top_ = 0, cols_ = 0;
  std::shared_ptr<void> index_, logits_, work_, out_;
  std::vector<cuda::RowLogprobs> host_;
};
}  // namespace
int64_t cuda_row_logprobs_rows() { return g_row_logprobs_rows.load(); }

DrawnTokens CudaBackend::draw_to_host(float* logits, int64_t cols, const StepDraws& step) {
  const std::span<const TokenDraw> draws = step.rows;
  const int64_t rows = static_cast<int64_t>(draws.size());
  if (rows == 0) return {};
  const bool greedy = std::all_of(draws.begin(), draws.end(), [](const TokenDraw& d) { return d.greedy(); });
  if (!greedy && cols > cuda::kMaxDrawCols) {  // past the draw kernel's integer mass sums: on the host
    std::vector<float> host(static_cast<size_t>(rows * cols));
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(host.data(), logits, host.size() * sizeof(float), cudaMemcpyDeviceToHost,
                                          stream_)));
    SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));
    return draw_tokens(host, cols, step);
  }
  std::shared_ptr<void> out = pool().get(static_cast<size_t>(rows) * sizeof(int32_t)).value();
  int32_t* d_out = static_cast<int32_t*>(out.get());
  StepLogprobs logprobs(draws, pool(), stream_);
  logprobs.copy(logits, static_cast<int>(cols));
  std::shared_ptr<void> params, edits;
  if (!step.edits.empty()) {  // the penalties, in place, before the draw (LogitEdit mirrors cuda::LogitEdit)
    static_assert(sizeof(LogitEdit) == sizeof(cuda::LogitEdit), "one struct, two names");
    const size_t bytes = step.edits.size() * sizeof(cuda::LogitEdit);
    edits = pool().get(bytes).value();
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(edits.get(), step.edits.data(), bytes, cudaMemcpyHostToDevice, stream_)));
    SWAA_CUDA_OK(cuda::apply_logit_edits(logits, cols, static_cast<const cuda::LogitEdit*>(edits.get()),
                                         static_cast<int>(step.edits.size()), stream_));
  }
  if (greedy) {
    SWAA_CUDA_OK(cuda::argmax_rows(logits, static_cast<int>(rows), static_cast<int>(cols), d_out, stream_));
  } else {
    std::vector<cuda::DrawRow> host(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      const TokenDraw& d = draws[r];
      host[r] = {d.temperature, d.top_p, d.min_p, d.top_k, d.uniform};
    }
    params = pool().get(host.size() * sizeof(cuda::DrawRow)).value();
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(params.get(), host.data(), host.size() * sizeof(cuda::DrawRow),
                                          cudaMemcpyHostToDevice, stream_)));
    SWAA_CUDA_OK(cuda::draw_rows(logits, static_cast<int>(rows), static_cast<int>(cols),
                                 static_cast<const cuda::DrawRow*>(params.get()), d_out, num_sms_, stream_));
  }
  logprobs.compute(d_out);
  DrawnTokens drawn;
  drawn.tokens.resize(static_cast<size_t>(rows));
  drawn.logprobs.resize(static_cast<size_t>(rows));
  SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(drawn.tokens.data(), d_out, rows * sizeof(int32_t), cudaMemcpyDeviceToHost,
                                        stream_)));
  SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));
  logprobs.read(drawn.logprobs);
  return drawn;
}

DrawnTokens CudaBackend::draw_rows_f32(Tensor& t, const StepDraws& draws) {
  SWAA_CHECK(t.dtype() == DType::kF32);
  if (draws.rows.empty()) return {};  // a prompt chunk that samples nothing: [0, vocab] logits
  const int64_t cols = t.numel() / t.dim(0);
  remember_logits(t.data_as<float>(), static_cast<int64_t>(draws.rows.size()) * cols);
  return draw_to_host(t.data_as<float>(), cols, draws);
}

void CudaBackend::to_host_f32(const Tensor& t, int64_t row_begin, int64_t row_end, float* dst) {
  const int64_t cols = t.numel() / t.dim(0);
  const int64_t n = (row_end - row_begin) * cols;
  // The step just recorded: remember where its logits are (only fp32 logits are replayed).
  if (t.dtype() == DType::kF32) remember_logits(t.data_as<float>() + row_begin * cols, n);
  awaiting_logits_ = nullptr;
  if (t.dtype() == DType::kF32) {
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(dst, t.data_as<float>() + row_begin * cols, n * 4, cudaMemcpyDeviceToHost, stream_)));
    SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));
    return;
  }
  std::vector<uint16_t> host(n);
  SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(host.data(), t.data_as<uint16_t>() + row_begin * cols, n * 2,
                                        cudaMemcpyDeviceToHost, stream_)));
  SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(host[i]);
}

void CudaBackend::embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) {
  ensure_started();
  const int* d_ids = stage_ints(std::vector<int>(ids.begin(), ids.end()));
  SWAA_CUDA_OK(cuda::embedding(table.data(), d_ids, static_cast<int>(ids.size()), static_cast<int>(table.dim(1)),
                               out.data(), vstream()));
}
void CudaBackend::rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) {
  const int d = static_cast<int>(w.numel());
  SWAA_CUDA_OK(cuda::rms_norm(x.data(), w.data(), static_cast<int>(x.numel() / d), d, eps, out.data(), vstream()));
}
// Which decode projections take the skinny kernels of gemv.cu instead of cuBLAS, per op, from
// bench/gemv_bench and decode tok/s on the H200 (Qwen3-4B shapes; docs/performance.md "Skinny GEMV
// or cuBLAS, per op"):
//  - q/k/v in one launch: up to 4 rows (14-28 us against 31-41 us for cuBLAS's three GEMMs; at 8
//    rows cuBLAS takes 24 us, the skinny kernel 58);
//  - gate/up/SwiGLU in one launch, and a single matrix (o, down, lm_head): 1 row. With 2 rows
//    cuBLAS is faster on each (gate/up 35 against 39 us, o 11.6 against 16.4, down 18.7 against
//    28.9, lm_head 188 against 232). With 1 row the bench has cuBLAS ahead on o and down too (11.6
//    / 18.7 against 12.0 / 21.6 us), but a decode step is faster with them on the skinny kernel
//    (249 against 239 tok/s at 8k).
// Decode at 8k against cuBLAS only: batch 1 189 -> 250 tok/s, batch 2 339 -> 397, batch 4 598 -> 630.
// SWAA_CUDA_GEMV=0 keeps cuBLAS everywhere (for comparisons).
constexpr int kFusedQkvMaxRows = 4;
constexpr int kSingleMaxRows = 1;  // gate/up/SwiGLU and single matrices
bool CudaBackend::gemv_ok(const Tensor& x, const Tensor& w, int max_rows) const {
  const int in = static_cast<int>(w.dim(1));
  const int n = static_cast<int>(x.numel() / in);
  return use_gemv_ && n <= max_rows && cuda::gemv_supported(x.data(), w.data(), n, in);
}
void CudaBackend::linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) {
  const int in = static_cast<int>(w.dim(1)), outf = static_cast<int>(w.dim(0));
  const int n = static_cast<int>(x.numel() / in);
  if (n == 0) return;
  const bool f32_out = out.dtype() == DType::kF32;
  if (gemv_ok(x, w, kSingleMaxRows)) {
    const cuda::GemvOutput o{w.data(), bias != nullptr ? bias->data() : nullptr, out.data(), outf};
    SWAA_CUDA_OK(cuda::gemv_many(x.data(), n, in, &o, 1, f32_out, vstream()));
    return;
  }
  gemm(x.data(), w.data(), n, in, outf, out.data(), f32_out);
  if (bias != nullptr) SWAA_CUDA_OK(cuda::add_bias(out.data(), f32_out, bias->data(), n, outf, vstream()));
}
void CudaBackend::gemm(const void* x, const void* w, int n, int in, int outf, void* out, bool f32_out) {
  const float alpha = 1.f, beta = 0.f;
  const cublasStatus_t st =
      cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, outf, n, in, &alpha, w, CUDA_R_16BF, in, x, CUDA_R_16BF, in,
                   &beta, out, f32_out ? CUDA_R_32F : CUDA_R_16BF, outf, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  SWAA_CHECK(st == CUBLAS_STATUS_SUCCESS);
}
namespace {
// The rows of the matrix the weights form when each one's rows follow the previous one's in memory
// (bf16, the same width: model_weights.cc stacks q/k/v and gate/up so), else 0.
int64_t stacked_rows(std::span<const Tensor* const> ws) {
  const int64_t in = ws[0]->dim(1);
  const char* base = static_cast<const char*>(ws[0]->data());
  int64_t rows = 0;
  for (const Tensor* w : ws) {
    if (w->dtype() != DType::kBF16 || w->dim(1) != in || static_cast<const char*>(w->data()) != base + rows * in * 2) {
      return 0;
    }
    rows += w->dim(0);
  }
  return rows;
}
}  // namespace
void CudaBackend::linears(const Tensor& x, std::span<const Projection> outputs) {
  bool fused = outputs.size() <= cuda::kGemvMaxMatrices;
  for (const Projection& p : outputs) fused = fused && gemv_ok(x, *p.w, kFusedQkvMaxRows) && p.out->dtype() == DType::kBF16;
  if (!fused || outputs.empty()) {
    if (!stacked_linears(x, outputs)) Backend::linears(x, outputs);
    return;
  }
  const int in = static_cast<int>(outputs[0].w->dim(1));
  std::array<cuda::GemvOutput, cuda::kGemvMaxMatrices> o{};
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Projection& p = outputs[i];
    SWAA_CHECK(p.w->dim(1) == in);
    o[i] = {p.w->data(), p.bias != nullptr ? p.bias->data() : nullptr, p.out->data(), static_cast<int>(p.w->dim(0))};
  }
  SWAA_CUDA_OK(cuda::gemv_many(x.data(), static_cast<int>(x.numel() / in), in, o.data(), static_cast<int>(outputs.size()),
                               false, vstream()));
}
namespace {
constexpr int kStackedMaxRows = 256;
std::atomic<int64_t> g_stacked_gemm_launches{0};
}  // namespace
int64_t cuda_stacked_gemm_launches() { return g_stacked_gemm_launches.load(); }
// Past the skinny kernels' rows, up to decode batches (kStackedMaxRows): one GEMM over the stacked
// weights into a scratch [n, total], split into the outputs (each then gets its bias). The split
// copies the outputs once more, which a prompt chunk's three large GEMMs do not need. False (nothing
// run) where the weights are not stacked.
bool CudaBackend::stacked_linears(const Tensor& x, std::span<const Projection> outputs) {
  if (!use_stacked_ || outputs.size() < 2 || outputs.size() > static_cast<size_t>(cuda::kMaxColumnSplits)) return false;
  if (x.numel() / outputs[0].w->dim(1) > kStackedMaxRows) return false;
  std::array<const Tensor*, cuda::kMaxColumnSplits> ws{};
  std::array<cuda::ColumnSplit, cuda::kMaxColumnSplits> splits{};
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].out->dtype() != DType::kBF16 || outputs[i].w->dim(0) % 8 != 0) return false;
    ws[i] = outputs[i].w;
    splits[i] = {outputs[i].out->data(), static_cast<int>(outputs[i].w->dim(0))};
  }
  const int64_t total = stacked_rows(std::span<const Tensor* const>(ws.data(), outputs.size()));
  if (total == 0) return false;
  const int in = static_cast<int>(outputs[0].w->dim(1));
  const int n = static_cast<int>(x.numel() / in);
  if (n == 0) return true;
  Result<Tensor> all = scratch({n, total}, DType::kBF16);
  if (!all.ok()) return false;
  gemm(x.data(), outputs[0].w->data(), n, in, static_cast<int>(total), all->data(), false);
  ++g_stacked_gemm_launches;
  SWAA_CUDA_OK(cuda::split_columns(all->data(), n, static_cast<int>(total), splits.data(),
                                   static_cast<int>(outputs.size()), vstream()));
  for (const Projection& p : outputs) {
    if (p.bias != nullptr) {
      SWAA_CUDA_OK(cuda::add_bias(p.out->data(), false, p.bias->data(), n, static_cast<int>(p.w->dim(0)), vstream()));
    }
  }
  return true;
}
void CudaBackend::swiglu_linear(const Tensor& x, const Tensor& gate_w, const Tensor* gate_bias, const Tensor& up_w,
                                const Tensor* up_bias, Tensor& out, Tensor& up) {
  if (!gemv_ok(x, gate_w, kSingleMaxRows) || !gemv_ok(x, up_w, kSingleMaxRows)) {
    // Stacked gate/up without biases: one GEMM into [n, 2 I], then SwiGLU reading both halves.
    const Tensor* ws[2] = {&gate_w, &up_w};
    const int in = static_cast<int>(gate_w.dim(1)), I = static_cast<int>(gate_w.dim(0));
    const int n = static_cast<int>(x.numel() / in);
    if (use_stacked_ && gate_bias == nullptr && up_bias == nullptr && gate_w.dim(0) == up_w.dim(0) && I % 8 == 0 &&
        out.dtype() == DType::kBF16 && stacked_rows(ws) > 0) {
      if (Result<Tensor> gu = scratch({n, 2 * static_cast<int64_t>(I)}, DType::kBF16); gu.ok()) {
        gemm(x.data(), gate_w.data(), n, in, 2 * I, gu->data(), false);
        ++g_stacked_gemm_launches;
        SWAA_CUDA_OK(cuda::silu_mul_stacked(gu->data(), out.data(), n, I, vstream()));
        return;
      }
    }
    Backend::swiglu_linear(x, gate_w, gate_bias, up_w, up_bias, out, up);
    return;
  }
  const int in = static_cast<int>(gate_w.dim(1));
  SWAA_CUDA_OK(cuda::gemv_swiglu(x.data(), static_cast<int>(x.numel() / in), in, static_cast<int>(gate_w.dim(0)),
                                 gate_w.data(), gate_bias != nullptr ? gate_bias->data() : nullptr, up_w.data(),
                                 up_bias != nullptr ? up_bias->data() : nullptr, out.data(), vstream()));
}
void CudaBackend::gather_rows(const Tensor& x, const std::vector<int>& rows, Tensor& out) {
  ensure_started();
  const int* d_rows = stage_ints(rows);
  SWAA_CUDA_OK(cuda::gather_rows(x.data(), x.dtype() == DType::kF32, d_rows, static_cast<int>(rows.size()),
                                 static_cast<int>(x.numel() / x.dim(0)), out.data(), vstream()));
}
void CudaBackend::add_inplace(Tensor& x, const Tensor& y) {
  SWAA_CUDA_OK(cuda::add_inplace(x.data(), y.data(), x.numel(), vstream()));
}
const float* CudaBackend::device_inv_freq(const std::vector<float>& inv_freq) {
  if (inv_freq_host_ != inv_freq) {  // once per model: steps are recorded only after this
    inv_freq_host_ = inv_freq;
    d_inv_freq_ = pool_->get(inv_freq.size() * 4).value();
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(d_inv_freq_.get(), inv_freq.data(), inv_freq.size() * 4,
                                          cudaMemcpyHostToDevice, stream_)));
    SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));
  }
  return static_cast<const float*>(d_inv_freq_.get());
}
void CudaBackend::rope(Tensor& x, const std::vector<float>& inv_freq, double scaling) {
  ensure_started();
  const float* d_inv_freq = device_inv_freq(inv_freq);
  SWAA_CUDA_OK(cuda::rope(x.data(), d_positions_, d_inv_freq,
                          static_cast<int>(x.dim(0)), static_cast<int>(x.dim(1)), static_cast<int>(x.dim(2)),
                          static_cast<float>(scaling), vstream()));
}
void CudaBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) {
  SWAA_CUDA_OK(cuda::silu_mul(gate.data(), up.data(), out.data(), gate.numel(), vstream()));
}
void CudaBackend::add_rms_norm(Tensor& x, const Tensor& y, const Tensor& w, float eps, Tensor& out) {
  const int d = static_cast<int>(w.numel());
  SWAA_CUDA_OK(cuda::add_rms_norm(x.data(), y.data(), w.data(), static_cast<int>(x.numel() / d), d, eps, out.data(),
                                  vstream()));
}
void CudaBackend::attention_inputs(Tensor& q, Tensor& k, const Tensor& v, const Tensor* q_norm, const Tensor* k_norm,
                                   float eps, const std::vector<float>& inv_freq, double scaling, KvGroup group,
                                   Tensor& k_cache, Tensor& v_cache) {
  if (!cuda::qk_norm_rope_kv_write_supported(static_cast<int>(q.dim(2)))) {  // e.g. head dim 16
    Backend::attention_inputs(q, k, v, q_norm, k_norm, eps, inv_freq, scaling, group, k_cache, v_cache);
    return;
  }
  ensure_started();
  const float* d_inv_freq = device_inv_freq(inv_freq);
  SWAA_CUDA_OK(cuda::qk_norm_rope_kv_write(
      q.data(), k.data(), v.data(), q_norm != nullptr ? q_norm->data() : nullptr,
      k_norm != nullptr ? k_norm->data() : nullptr, eps, d_positions_, d_inv_freq, static_cast<float>(scaling),
      d_slots_[static_cast<int>(group)], static_cast<int>(q.dim(0)), static_cast<int>(q.dim(1)),
      static_cast<int>(k.dim(1)), static_cast<int>(q.dim(2)), k_cache.data(), v_cache.data(), vstream()));
}
void CudaBackend::kv_write(const Tensor& k, const Tensor& v, KvGroup group, Tensor& kc, Tensor& vc) {
  ensure_started();
  const int n = static_cast<int>(k.dim(0));
  SWAA_CUDA_OK(cuda::kv_write(k.data(), v.data(), d_slots_[static_cast<int>(group)], n,
                              static_cast<int>(k.numel() / std::max(n, 1)), kc.data(), vc.data(), vstream()));
}
void CudaBackend::attention(const Tensor& q, const Tensor& kc, const Tensor& vc, KvGroup group, const LayerPolicy& policy,
                            float scale, Tensor& out) {
  ensure_started();
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
  p.max_blocks = bt_stride_[g];
  p.num_slots = kc.dim(0);
  p.sliding = policy.sliding;
  p.window = policy.window;
  p.keep_first = policy.keep_first;
  p.fa_decode = policy.fa_decode;
  p.softmax_scale = scale;
  const bool tiled = (p.head_dim == 64 || p.head_dim == 128) &&
                     p.num_heads / p.num_kv_heads <= cuda::kDecodeMaxGroup;
  if (!tiled) {
    SWAA_CUDA_OK(cuda::attention_simple(p, vstream()));
    return;
  }
  if (all_single_query_) {
    const int splits = cuda::decode_num_splits(p, num_sms_);
    const size_t ws_bytes = cuda::decode_workspace_bytes(p, splits);
    std::shared_ptr<void> ws;
    if (ws_bytes > 0) ws = pool().get(ws_bytes).value();
    if (mode_ == StepMode::kRecording) recording_->decode_calls.push_back({p, splits});
    SWAA_CUDA_OK(cuda::attention_decode(p, splits, ws.get(), vstream()));
    return;
  }
  if (prefill_sm90_ && p.head_dim == 128) {
    SWAA_CUDA_OK(cuda::attention_prefill_sm90(p, vstream()));
    return;
  }
  SWAA_CUDA_OK(cuda::attention_prefill(p, vstream()));
}
// Up to this many tokens per step, MoE layers route on the device and each (token, expert slot)
// reads its expert's rows (decode steps); longer steps group tokens by expert on the host.
constexpr int64_t kDeviceMoeMaxTokens = 8;
bool CudaBackend::device_moe_ok(const Tensor& x, const MoeWeights& w) const {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  return x.dim(0) <= kDeviceMoeMaxTokens && aligned(x.data()) && device_moe_layer_ok(w);
}
bool CudaBackend::device_moe_layer_ok(const MoeWeights& w) const {
  const int64_t hidden = w.router.dim(1), E = w.router.dim(0);
  if (!use_gemv_ || E > cuda::kMoeMaxExperts || w.top_k > cuda::kMoeMaxSlots) return false;
  const int64_t inter = w.gate[0].dim(0);
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  if (hidden % 8 != 0 || inter % 8 != 0) return false;
  for (int64_t e = 0; e < E; ++e) {
    if (w.gate[e].dim(0) != inter || w.up[e].dim(0) != inter || w.down[e].dim(1) != inter) return false;
    if (!aligned(w.gate[e].data()) || !aligned(w.up[e].data()) || !aligned(w.down[e].data())) return false;
  }
  return true;
}
// Decode steps of MoE models are recorded when every MoE layer routes on the device, and only up
// to kDeviceMoeMaxTokens tokens (longer steps route on the host, which a recording cannot hold).
// The expert tables are uploaded here, never inside a recording.
void CudaBackend::set_moe_layers(const std::vector<const MoeWeights*>& layers) {
  bool device = true;
  for (const MoeWeights* w : layers) device = device && device_moe_layer_ok(*w);
  if (!device) {
    enable_step_graphs(false);
    return;
  }
  for (const MoeWeights* w : layers) expert_table(*w);
  graph_max_tokens_ = static_cast<int>(kDeviceMoeMaxTokens);
}
const void* const* CudaBackend::expert_table(const MoeWeights& w) {
  std::shared_ptr<void>& table = expert_tables_[w.gate[0].data()];
  if (table == nullptr) {  // once per layer (set_moe_layers), outside any recording
    SWAA_CHECK(mode_ != StepMode::kRecording);
    const size_t E = w.gate.size();
    std::vector<const void*> host(3 * E);
    for (size_t e = 0; e < E; ++e) {
      host[e] = w.gate[e].data();
      host[E + e] = w.up[e].data();
      host[2 * E + e] = w.down[e].data();
    }
    table = pool_->get(host.size() * sizeof(void*)).value();
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(table.get(), host.data(), host.size() * sizeof(void*), cudaMemcpyHostToDevice,
                                          stream_)));
    SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));
  }
  return static_cast<const void* const*>(table.get());
}
void CudaBackend::moe(const Tensor& x, const MoeWeights& w, Tensor& out) {
  ensure_started();
  const int64_t n = x.dim(0), hidden = x.dim(1), E = w.router.dim(0);
  Tensor logits = alloc({n, E}, DType::kF32).value();
  linear(x, w.router, nullptr, logits);
  if (device_moe_ok(x, w)) {
    const int k = w.top_k, inter = static_cast<int>(w.gate[0].dim(0));
    const void* const* table = expert_table(w);
    std::shared_ptr<void> ids = pool().get(n * k * sizeof(int)).value();
    std::shared_ptr<void> weights = pool().get(n * k * sizeof(float)).value();
    Tensor h = scratch({n * k, inter}, DType::kBF16).value();
    SWAA_CUDA_OK(cuda::moe_route(logits.data_as<float>(), static_cast<int>(n), static_cast<int>(E), k,
                                 w.norm_topk_prob, static_cast<int*>(ids.get()), static_cast<float*>(weights.get()),
                                 vstream()));
    SWAA_CUDA_OK(cuda::moe_experts(x.data(), static_cast<int>(n), k, static_cast<int>(hidden), inter,
                                   static_cast<const int*>(ids.get()), static_cast<const float*>(weights.get()), table,
                                   table + E, table + 2 * E, h.data(), out.data(), vstream()));
    return;
  }
  moe_grouped(x, w, logits, out);
}

// Prompt chunks: routed on the host (one copy of the router logits), then every (token, expert)
// pair grouped by expert: one gather of x into expert order, per expert its gate, up and down
// GEMMs on its rows of the grouped buffers, one SwiGLU over all pairs, and one combine that sums
// each token's k expert outputs in fp32 in expert order (as the CPU backend, which adds the
// experts' outputs into the token's row one expert after the other). Before: ~12 operations per
// expert (allocations with memsets, gathers, row and weight uploads, scatter-adds). Scratch: k x
// (2 hidden + 2 inter) bf16 values per token of the chunk (~90 MB per 1k tokens at Qwen3-30B-A3B's
// shapes; 46 MB for the default 512-token chunks).
void CudaBackend::moe_grouped(const Tensor& x, const MoeWeights& w, const Tensor& logits, Tensor& out) {
  const int64_t n = x.dim(0), hidden = x.dim(1), E = w.router.dim(0);
  const int k = w.top_k;
  std::vector<float> lg(n * E);
  to_host_f32(logits, 0, n, lg.data());
  const auto routed = route_top_k(lg.data(), n, E, k, w.norm_topk_prob);
  std::vector<int> rows, pos(n * k, -1), filled(n, 0);
  std::vector<float> weights(n * k, 0.f);
  std::vector<int64_t> begin(E + 1, 0);
  bool same_inter = true;
  for (int64_t e = 0; e < E; ++e) {
    begin[e] = static_cast<int64_t>(rows.size());
    same_inter = same_inter && w.gate[e].dim(0) == w.gate[0].dim(0);
    for (const auto& [token, weight] : routed[e]) {
      const int slot = filled[token]++;
      SWAA_CHECK(slot < k);
      pos[token * k + slot] = static_cast<int>(rows.size());
      weights[token * k + slot] = weight;
      rows.push_back(static_cast<int>(token));
    }
  }
  begin[E] = static_cast<int64_t>(rows.size());
  const int64_t pairs = begin[E];
  const int64_t inter = w.gate[0].dim(0);
  Tensor xs = scratch({pairs, hidden}, DType::kBF16).value(), y = scratch({pairs, hidden}, DType::kBF16).value();
  gather_rows(x, rows, xs);
  Tensor g, u;
  if (same_inter) {
    g = scratch({pairs, inter}, DType::kBF16).value();
    u = scratch({pairs, inter}, DType::kBF16).value();
  }
  if (same_inter) {
    expert_gemms(xs, begin, w.gate, g);
    expert_gemms(xs, begin, w.up, u);
    silu_mul(g, u, g);
    expert_gemms(g, begin, w.down, y);
  } else {
    for (int64_t e = 0; e < E; ++e) {
      const int64_t m = begin[e + 1] - begin[e];
      if (m == 0) continue;
      Tensor ye = y.rows(begin[e], m);
      Tensor ge = scratch({m, w.gate[e].dim(0)}, DType::kBF16).value();
      Tensor ue = scratch({m, w.gate[e].dim(0)}, DType::kBF16).value();
      linear(xs.rows(begin[e], m), w.gate[e], nullptr, ge);
      linear(xs.rows(begin[e], m), w.up[e], nullptr, ue);
      silu_mul(ge, ue, ge);
      linear(ge, w.down[e], nullptr, ye);
    }
  }
  const int* d_pos = stage_ints(pos);
  const auto* d_w = static_cast<const float*>(stage_bytes(weights.data(), weights.size() * sizeof(float)));
  SWAA_CUDA_OK(cuda::moe_combine(y.data(), d_pos, d_w, static_cast<int>(n), k, static_cast<int>(hidden), out.data(),
                                 vstream()));
}

// Rows [begin[e], begin[e + 1]) of out = the same rows of in @ weights[e]^T, for every expert with
// rows: one cublasGemmGroupedBatchedEx call (one group per expert, the GEMMs of linear() with
// their own M) instead of one launch per expert. Where cuBLAS does not take the call, or with
// SWAA_MOE_GROUPED_GEMM=0, the per-expert loop of linear().
void CudaBackend::expert_gemms(const Tensor& in, const std::vector<int64_t>& begin, const std::vector<Tensor>& weights,
                               Tensor& out) {
  const int E = static_cast<int>(weights.size());
  const int in_f = static_cast<int>(in.dim(1)), out_f = static_cast<int>(out.dim(1));
  if (grouped_gemm_) {
    std::vector<int> ms, ns, ks, ldas, ldbs, ldcs, sizes;
    std::vector<float> alphas, betas;
    std::vector<const void*> a, b;
    std::vector<void*> c;
    for (int e = 0; e < E; ++e) {
      const int64_t m = begin[e + 1] - begin[e];
      if (m == 0) continue;
      SWAA_CHECK(weights[e].dim(0) == out_f && weights[e].dim(1) == in_f);
      ms.push_back(out_f);
      ns.push_back(static_cast<int>(m));
      ks.push_back(in_f);
      ldas.push_back(in_f);
      ldbs.push_back(in_f);
      ldcs.push_back(out_f);
      sizes.push_back(1);
      alphas.push_back(1.f);
      betas.push_back(0.f);
      a.push_back(weights[e].data());
      b.push_back(static_cast<const char*>(in.data()) + begin[e] * in_f * 2);
      c.push_back(static_cast<char*>(out.data()) + begin[e] * out_f * 2);
    }
    if (ms.empty()) return;
    const std::vector<cublasOperation_t> ta(ms.size(), CUBLAS_OP_T), tb(ms.size(), CUBLAS_OP_N);
    const auto* d_a = static_cast<const void* const*>(stage_bytes(a.data(), a.size() * sizeof(void*)));
    const auto* d_b = static_cast<const void* const*>(stage_bytes(b.data(), b.size() * sizeof(void*)));
    auto* d_c = static_cast<void* const*>(const_cast<void*>(stage_bytes(c.data(), c.size() * sizeof(void*))));
    const cublasStatus_t st = cublasGemmGroupedBatchedEx(
        cublas_, ta.data(), tb.data(), ms.data(), ns.data(), ks.data(), alphas.data(), d_a, CUDA_R_16BF, ldas.data(), d_b,
        CUDA_R_16BF, ldbs.data(), betas.data(), d_c, CUDA_R_16BF, ldcs.data(), static_cast<int>(ms.size()), sizes.data(),
        CUBLAS_COMPUTE_32F);
    if (st == CUBLAS_STATUS_SUCCESS) return;
    log::warn("cublasGemmGroupedBatchedEx returned status {}: MoE prompt chunks run one GEMM per expert",
              static_cast<int>(st));
    grouped_gemm_ = false;
  }
  for (int e = 0; e < E; ++e) {
    const int64_t m = begin[e + 1] - begin[e];
    if (m == 0) continue;
    Tensor oe = out.rows(begin[e], m);
    linear(in.rows(begin[e], m), weights[e], nullptr, oe);
  }
}

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
