// CudaBackend, the class behind make_cuda_backend (cuda_backend.h). Internal to src/backend/cuda.
//
// Every op runs on one stream. A step's host arrays (layout, ids, logit rows) are staged in a pinned
// StepArena and uploaded with one copy each (two arenas alternate so the host can prepare step n+1
// while step n runs). Decode steps (one query per sequence) are recorded into a CUDA graph the
// first time a batch of their shape is seen and replayed afterwards: the host then only restages
// the arrays, launches the graph and copies the logits back. What a graph bakes in is its key
// (sequences, tokens, logit rows, block-table strides, padded to powers of two) and each decode
// attention's split count, which is rechecked against the step's longest sequence before a
// replay. Buffers of a recorded step come from the graph's own DevicePool, so they stay valid.
// cuda_backend.cc holds the ops; cuda_step.cc the step lifecycle (staging, recording, replay).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <array>
#include <memory>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/device_pool.h"
#include "backend/cuda/step_arena.h"
#include "swaa_attention.h"

namespace swaa {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  DType compute_dtype() const override { return DType::kBF16; }

  Result<Tensor> alloc(const std::vector<int64_t>& shape, DType dtype) override;
  Result<Tensor> alloc(const std::vector<int64_t>& shape) override { return alloc(shape, DType::kBF16); }
  Result<Tensor> scratch(const std::vector<int64_t>& shape, DType dtype) override;
  Result<Tensor> upload(const TensorView& w) override;
  void to_host_f32(const Tensor& t, int64_t row_begin, int64_t row_end, float* dst) override;
  DrawnTokens draw_rows_f32(Tensor& t, const StepDraws& draws) override;
  bool draws_on_device() const override { return true; }

  void begin_step(const AttentionLayout& layout) override;
  std::optional<StepResult> replay_step(const std::vector<int32_t>& ids, const std::vector<int>& logit_rows,
                                        const StepDraws* draws) override;
  bool end_step() override;
  void enable_step_graphs(bool on) override { graphs_enabled_ = graphs_enabled_ && on; }
  void set_moe_layers(const std::vector<const MoeWeights*>& layers) override;

  void embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) override;
  void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) override;
  void linears(const Tensor& x, std::span<const Projection> outputs) override;
  void swiglu_linear(const Tensor& x, const Tensor& gate_w, const Tensor* gate_bias, const Tensor& up_w,
                     const Tensor* up_bias, Tensor& out, Tensor& up) override;
  void gather_rows(const Tensor& x, const std::vector<int>& rows, Tensor& out) override;
  void add_inplace(Tensor& x, const Tensor& y) override;
  void rope(Tensor& x, const std::vector<float>& inv_freq, double scaling) override;
  void silu_mul(const Tensor& gate, const Tensor& up, Tensor& out) override;
  void add_rms_norm(Tensor& x, const Tensor& y, const Tensor& w, float eps, Tensor& out) override;
  void attention_inputs(Tensor& q, Tensor& k, const Tensor& v, const Tensor* q_norm, const Tensor* k_norm, float eps,
                        const std::vector<float>& inv_freq, double scaling, KvGroup group, Tensor& k_cache,
                        Tensor& v_cache) override;
  void kv_write(const Tensor& k, const Tensor& v, KvGroup group, Tensor& kc, Tensor& vc) override;
  void attention(const Tensor& q, const Tensor& kc, const Tensor& vc, KvGroup group, const LayerPolicy& policy,
                 float scale, Tensor& out) override;
  void moe(const Tensor& x, const MoeWeights& w, Tensor& out) override;
  void moe_grouped(const Tensor& x, const MoeWeights& w, const Tensor& logits, Tensor& out);  // prompt chunks
  void expert_gemms(const Tensor& in, const std::vector<int64_t>& begin, const std::vector<Tensor>& weights, Tensor& out);

 private:
  enum class StepMode { kIdle, kPending, kDirect, kRecording };
  struct GraphKey {
    int num_seqs = 0, num_tokens = 0, rows = 0;
    std::array<int, kNumKvGroups> bt_stride{};
    bool operator==(const GraphKey&) const = default;
  };
  struct DecodeCall {
    cuda::AttentionParams params;  // as launched; max_seqlen_k is replaced by the step's to recheck
    int splits = 1;
  };
  struct StepGraph {
    GraphKey key;
    std::shared_ptr<DevicePool> pool;  // every buffer the recorded ops touched
    std::unique_ptr<StepArena> arena;  // read by the graph's copy nodes
    size_t arena_used = 0;
    std::vector<DecodeCall> decode_calls;
    cudaGraphExec_t exec = nullptr;
    float* logits = nullptr;  // fp32 [rows, vocab] in `pool`, set by the to_host_f32 or draw_rows_f32 after end_step
    int64_t logits_count = 0;
    uint64_t last_used = 0;
    ~StepGraph();
  };

  // Step lifecycle (cuda_step.cc).
  void ensure_started();
  void start_direct(size_t rows);
  bool start_recording(const GraphKey& key);
  bool finish_recording();
  void abandon_recording(const std::string& why);
  std::optional<StepResult> replay(StepGraph& g, const std::vector<int32_t>& ids, const std::vector<int>& rows,
                                   const StepDraws* draws);
  // The step just recorded keeps `logits` (its fp32 logit rows, `count` floats) for its replays.
  void remember_logits(float* logits, int64_t count);
  // The token draws[r] draws from each logits row (cuda::argmax_rows when every row is greedy,
  // else cuda::draw_rows), and cuda::row_logprobs of the unedited rows that ask; synchronises.
  DrawnTokens draw_to_host(float* logits, int64_t cols, const StepDraws& draws);
  bool splits_still_match(const StepGraph& g) const;
  size_t arena_bytes(size_t rows) const;
  // Stages the layout into `arena` with block tables at `bt_stride_` and sets the d_* pointers.
  void stage_layout(StepArena& arena);
  const int* stage_ints(const std::vector<int>& v);
  const void* stage_bytes(const void* data, size_t bytes);  // as stage_ints, any bytes
  // Enqueues the copy of what was staged; a direct step's arena is marked busy until it has run.
  void flush_arena();

  // RoPE's inverse frequencies on the device (uploaded once, outside any recorded step).
  const float* device_inv_freq(const std::vector<float>& inv_freq);
  DevicePool& pool() { return *active_pool_; }
  cudaStream_t stream() const { return stream_; }
  void* vstream() const { return static_cast<void*>(stream_); }

  int device_;
  std::shared_ptr<DevicePool> pool_ = DevicePool::create();
  std::shared_ptr<DevicePool> active_pool_ = pool_;  // a recording graph's pool while recording
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::shared_ptr<void> cublas_workspace_;
  int num_sms_ = 132;
  // The Hopper prefill kernel for head dim 128, where it can run (SWAA_PREFILL_SM90=0: mma.sync).
  bool prefill_sm90_ = false;
  bool use_gemv_ = true;  // decode-step projections on the skinny kernel (SWAA_CUDA_GEMV=0: cuBLAS)
  // Projections whose weights are stacked rows of one matrix (q/k/v, gate/up: model_weights.cc) as
  // one cuBLAS GEMM past the skinny kernels' rows: decode +5% at 1k x 32 and 8k x 8, +2-4% at 8k x
  // 32 (docs/performance.md, "Stacked projections"). SWAA_CUDA_STACKED_GEMM=0: one GEMM each.
  bool use_stacked_ = true;
  // out [n, outf] = x [n, in] @ w^T on cuBLAS (bf16 in, fp32 compute; fp32 or bf16 out).
  void gemm(const void* x, const void* w, int n, int in, int outf, void* out, bool f32_out);
  bool stacked_linears(const Tensor& x, std::span<const Projection> outputs);
  bool grouped_gemm_ = true;  // MoE prompt chunks: one grouped cuBLAS call per projection (SWAA_MOE_GROUPED_GEMM=0: per expert)
  bool gemv_ok(const Tensor& x, const Tensor& w, int max_rows) const;  // x's rows <= max_rows, shapes the kernel takes
  // MoE layers of decode steps route and run their experts on the device (moe_gemv.cu) when the
  // layer's shapes allow it; prompt chunks keep the host-routed grouped GEMMs.
  bool device_moe_ok(const Tensor& x, const MoeWeights& w) const;
  bool device_moe_layer_ok(const MoeWeights& w) const;  // the shapes and flags, any token count
  // Steps of more tokens are not recorded (MoE models: host routing above kDeviceMoeMaxTokens).
  int graph_max_tokens_ = 1 << 30;
  // Device arrays of the experts' gate, up and down pointers (3 x E), uploaded once per layer.
  const void* const* expert_table(const MoeWeights& w);
  std::unordered_map<const void*, std::shared_ptr<void>> expert_tables_;

  // The current step.
  const AttentionLayout* layout_ = nullptr;
  StepMode mode_ = StepMode::kIdle;
  StepArena* arena_ = nullptr;  // where this step's arrays are staged
  std::array<int, kNumKvGroups> bt_stride_{};
  std::vector<int> bt_scratch_;
  const int* d_cu_seqlens_ = nullptr;
  const int* d_positions_ = nullptr;
  const int* d_seqlen_k_ = nullptr;
  const uint8_t* d_generated_ = nullptr;
  const int* d_block_tables_[kNumKvGroups] = {};
  const int* d_slots_[kNumKvGroups] = {};
  int max_seqlen_q_ = 0, max_seqlen_k_ = 0;
  bool all_single_query_ = false;
  std::vector<std::shared_ptr<void>> step_buffers_;  // overflow uploads of the current step

  // Direct steps alternate between two arenas; an event marks when each was last read.
  std::array<StepArena, 2> direct_arenas_;
  std::array<cudaEvent_t, 2> direct_done_{};
  std::array<bool, 2> direct_pending_{};
  int direct_next_ = 0, direct_current_ = 0;

  std::vector<float> inv_freq_host_;
  std::shared_ptr<void> d_inv_freq_;

  // Step graphs.
  bool graphs_enabled_ = true;
  std::unique_ptr<StepGraph> recording_;
  StepGraph* awaiting_logits_ = nullptr;
  uint64_t clock_ = 0;
  std::vector<std::unique_ptr<StepGraph>> graphs_;  // last member: destroyed first
};

// Aborts with file/line and message on a CUDA error inside an op (ops return void: an error there
// is a bug or a dead device, not bad user input).
void cuda_fail(const char* file, int line, const std::string& message);
#define SWAA_CUDA_OK(expr)                                         \
  do {                                                             \
    const std::string swaa_cuda_err_ = (expr);                     \
    if (!swaa_cuda_err_.empty()) ::swaa::cuda_fail(__FILE__, __LINE__, swaa_cuda_err_); \
  } while (0)
inline std::string cuda_msg(cudaError_t e) { return e == cudaSuccess ? std::string() : cudaGetErrorString(e); }

}  // namespace swaa
