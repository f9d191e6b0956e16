// The CUDA backend's step lifecycle (see cuda_backend_impl.h): staging the step's host arrays,
// recording decode steps into CUDA graphs, replaying them.
#include <algorithm>
#include <cstring>

#include "backend/cuda/cuda_backend_impl.h"
#include "core/check.h"
#include "core/log.h"

namespace swaa {
namespace {

constexpr size_t kMaxGraphs = 8;  // recorded step shapes kept (least recently used evicted)

int pow2_at_least(int n, int floor) {
  int p = floor;
  while (p < n) p *= 2;
  return p;
}

}  // namespace

CudaBackend::StepGraph::~StepGraph() {
  if (exec != nullptr) cudaGraphExecDestroy(exec);
}

void CudaBackend::begin_step(const AttentionLayout& L) {
  if (mode_ == StepMode::kRecording) abandon_recording("the previous step stopped before its end");
  layout_ = &L;
  mode_ = StepMode::kPending;
  step_buffers_.clear();
  max_seqlen_q_ = 0;
  for (int s = 0; s < L.num_seqs; ++s) max_seqlen_q_ = std::max(max_seqlen_q_, L.cu_seqlens_q[s + 1] - L.cu_seqlens_q[s]);
  max_seqlen_k_ = L.seqlen_k.empty() ? 0 : *std::max_element(L.seqlen_k.begin(), L.seqlen_k.end());
  all_single_query_ = max_seqlen_q_ <= 1;
}

std::optional<Backend::StepResult> CudaBackend::replay_step(const std::vector<int32_t>& ids,
                                                            const std::vector<int>& logit_rows,
                                                            const StepDraws* draws) {
  SWAA_CHECK(mode_ == StepMode::kPending);
  const AttentionLayout& L = *layout_;
  // Recorded: decode steps (their shapes repeat) once RoPE's table is on the device.
  const bool recordable = graphs_enabled_ && all_single_query_ && L.num_tokens > 0 &&
                          L.num_tokens <= graph_max_tokens_ && !inv_freq_host_.empty() &&
                          static_cast<int>(ids.size()) == L.num_tokens;
  if (!recordable) {
    start_direct(logit_rows.size());
    return std::nullopt;
  }
  GraphKey key;
  key.num_seqs = L.num_seqs;
  key.num_tokens = L.num_tokens;
  key.rows = static_cast<int>(logit_rows.size());
  for (int g = 0; g < kNumKvGroups; ++g) key.bt_stride[g] = pow2_at_least(L.max_blocks[g], 16);
  auto it = std::find_if(graphs_.begin(), graphs_.end(), [&](const auto& g) { return g->key == key; });
  if (it != graphs_.end()) {
    if (splits_still_match(**it)) {
      if (std::optional<StepResult> out = replay(**it, ids, logit_rows, draws)) return out;
    }
    graphs_.erase(it);  // stale (the split count moved with the sequences' length): record again
  }
  if (!start_recording(key)) start_direct(logit_rows.size());
  return std::nullopt;
}

bool CudaBackend::end_step() {
  if (mode_ == StepMode::kRecording) return finish_recording();  // launches the recorded step
  mode_ = StepMode::kIdle;
  return true;
}

void CudaBackend::ensure_started() {
  if (mode_ == StepMode::kPending) start_direct(static_cast<size_t>(layout_->num_tokens));
}

size_t CudaBackend::arena_bytes(size_t rows) const {
  const AttentionLayout& L = *layout_;
  const size_t t = static_cast<size_t>(L.num_tokens), s = static_cast<size_t>(L.num_seqs);
  size_t n = StepArena::padded((s + 1) * 4) + StepArena::padded(t * 4) + StepArena::padded(s * 4) + StepArena::padded(t);
  for (int g = 0; g < kNumKvGroups; ++g) n += StepArena::padded(s * bt_stride_[g] * 4) + StepArena::padded(t * 4);
  return n + StepArena::padded(t * 4) + StepArena::padded(std::max(rows, t) * 4);  // + ids, logit rows
}

void CudaBackend::stage_layout(StepArena& arena) {
  const AttentionLayout& L = *layout_;
  auto ints = [&](const std::vector<int>& v) {
    const void* at = arena.stage(v.data(), v.size() * sizeof(int));
    SWAA_CHECK(at != nullptr);
    return static_cast<const int*>(at);
  };
  d_cu_seqlens_ = ints(L.cu_seqlens_q);
  d_positions_ = ints(L.positions);
  d_seqlen_k_ = ints(L.seqlen_k);
  d_generated_ = static_cast<const uint8_t*>(arena.stage(L.generated.data(), L.generated.size()));
  SWAA_CHECK(d_generated_ != nullptr);
  for (int g = 0; g < kNumKvGroups; ++g) {
    const int mb = L.max_blocks[g], stride = bt_stride_[g];
    if (stride == mb) {
      d_block_tables_[g] = ints(L.block_tables[g]);
    } else {  // rows padded to the stride with released blocks
      bt_scratch_.assign(static_cast<size_t>(L.num_seqs) * stride, kReleasedBlock);
      for (int s = 0; s < L.num_seqs; ++s) {
        std::copy_n(L.block_tables[g].begin() + static_cast<size_t>(s) * mb, mb, bt_scratch_.begin() + static_cast<size_t>(s) * stride);
      }
      d_block_tables_[g] = ints(bt_scratch_);
    }
    d_slots_[g] = ints(L.slot_mapping[g]);
  }
}

const int* CudaBackend::stage_ints(const std::vector<int>& v) {
  return static_cast<const int*>(stage_bytes(v.data(), v.size() * sizeof(int)));
}

const void* CudaBackend::stage_bytes(const void* data, size_t bytes) {
  const void* at = mode_ == StepMode::kIdle ? nullptr : arena_->stage(data, bytes);
  if (at != nullptr) {
    flush_arena();
    return at;
  }
  // Outside a step, or more than the arena was sized for (MoE pair tables): a pool buffer, copied from pageable
  // memory (CUDA stages it before returning). Never while recording: recorded steps are sized exactly.
  SWAA_CHECK(mode_ != StepMode::kRecording);
  std::shared_ptr<void> buf = pool().get(std::max<size_t>(bytes, 4)).value();
  if (bytes > 0) SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(buf.get(), data, bytes, cudaMemcpyHostToDevice, stream_)));
  step_buffers_.push_back(buf);
  return buf.get();
}

void CudaBackend::start_direct(size_t rows) {
  for (int g = 0; g < kNumKvGroups; ++g) bt_stride_[g] = std::max(1, layout_->max_blocks[g]);
  const int i = direct_next_;
  direct_next_ ^= 1;
  direct_current_ = i;
  if (direct_pending_[i]) {  // the step that used this arena two steps ago must have read it
    SWAA_CUDA_OK(cuda_msg(cudaEventSynchronize(direct_done_[i])));
    direct_pending_[i] = false;
  }
  arena_ = &direct_arenas_[i];
  SWAA_CUDA_OK(arena_->reset(arena_bytes(rows)));
  mode_ = StepMode::kDirect;
  stage_layout(*arena_);
  flush_arena();
  active_pool_ = pool_;
}

void CudaBackend::flush_arena() {
  SWAA_CUDA_OK(arena_->flush(vstream()));
  if (mode_ == StepMode::kDirect) {  // the arena may be restaged once this copy has run
    SWAA_CUDA_OK(cuda_msg(cudaEventRecord(direct_done_[direct_current_], stream_)));
    direct_pending_[direct_current_] = true;
  }
}

bool CudaBackend::start_recording(const GraphKey& key) {
  auto g = std::make_unique<StepGraph>();
  g->key = key;
  g->pool = DevicePool::create();
  g->arena = std::make_unique<StepArena>();
  bt_stride_ = key.bt_stride;
  const std::string e = g->arena->reset(arena_bytes(static_cast<size_t>(key.rows)));
  if (!e.empty()) {
    log::warn("cuda graphs off: {}", e);
    graphs_enabled_ = false;
    return false;
  }
  if (cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed) != cudaSuccess) {
    log::warn("cuda graphs off: cudaStreamBeginCapture failed: {}", cudaGetErrorString(cudaGetLastError()));
    graphs_enabled_ = false;
    return false;
  }
  arena_ = g->arena.get();
  stage_layout(*arena_);
  SWAA_CUDA_OK(arena_->flush(vstream()));  // recorded: the graph's first node
  active_pool_ = g->pool;
  recording_ = std::move(g);
  mode_ = StepMode::kRecording;
  return true;
}

void CudaBackend::abandon_recording(const std::string& why) {
  cudaGraph_t graph = nullptr;
  cudaStreamEndCapture(stream_, &graph);
  if (graph != nullptr) cudaGraphDestroy(graph);
  cudaGetLastError();
  log::debug("cuda graphs: recording dropped ({})", why);
  recording_.reset();
  active_pool_ = pool_;
  mode_ = StepMode::kIdle;
}

bool CudaBackend::finish_recording() {
  cudaGraph_t graph = nullptr;
  cudaError_t e = cudaStreamEndCapture(stream_, &graph);
  mode_ = StepMode::kIdle;
  active_pool_ = pool_;
  std::unique_ptr<StepGraph> g = std::move(recording_);
  if (e == cudaSuccess) e = cudaGraphInstantiate(&g->exec, graph, 0);
  if (graph != nullptr) cudaGraphDestroy(graph);
  if (e == cudaSuccess) e = cudaGraphLaunch(g->exec, stream_);  // the recorded ops have not run yet
  if (e != cudaSuccess) {
    cudaGetLastError();
    log::warn("cuda graphs off: recording a decode step failed ({}); running steps op by op", cudaGetErrorString(e));
    graphs_enabled_ = false;
    return false;
  }
  g->arena_used = g->arena->used();
  g->last_used = ++clock_;
  awaiting_logits_ = g.get();
  log::debug("cuda graphs: recorded a decode step of {} sequences ({} attention calls)", g->key.num_seqs,
             g->decode_calls.size());
  graphs_.push_back(std::move(g));
  if (graphs_.size() > kMaxGraphs) {
    auto oldest = std::min_element(graphs_.begin(), graphs_.end() - 1,
                                   [](const auto& a, const auto& b) { return a->last_used < b->last_used; });
    SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));  // its buffers may still be in use
    graphs_.erase(oldest);
  }
  return true;
}

bool CudaBackend::splits_still_match(const StepGraph& g) const {
  for (const DecodeCall& c : g.decode_calls) {
    cuda::AttentionParams p = c.params;
    p.max_seqlen_k = max_seqlen_k_;
    if (cuda::decode_num_splits(p, num_sms_) != c.splits) return false;
  }
  return true;
}

std::optional<Backend::StepResult> CudaBackend::replay(StepGraph& g, const std::vector<int32_t>& ids,
                                                       const std::vector<int>& rows,
                                                       const StepDraws* draws) {
  // The graph's copy nodes read g.arena when it runs: restage this step's arrays in the order the
  // recorded step staged them (layout, ids, logit rows). The last replay of g ended with a sync.
  bt_stride_ = g.key.bt_stride;
  arena_ = g.arena.get();
  SWAA_CUDA_OK(arena_->reset(0));
  stage_layout(*arena_);
  const std::vector<int> id_ints(ids.begin(), ids.end());
  const bool staged = arena_->stage(id_ints.data(), id_ints.size() * sizeof(int)) != nullptr &&
                      arena_->stage(rows.data(), rows.size() * sizeof(int)) != nullptr;
  if (!staged || arena_->used() != g.arena_used || (g.logits == nullptr && !rows.empty())) return std::nullopt;
  SWAA_CUDA_OK(cuda_msg(cudaGraphLaunch(g.exec, stream_)));
  StepResult result;
  float* logits = g.logits;
  if (draws != nullptr) {
    if (!rows.empty()) result.drawn = draw_to_host(logits, g.logits_count / static_cast<int64_t>(rows.size()), *draws);
  } else if (g.logits_count > 0) {
    result.logits.resize(static_cast<size_t>(g.logits_count));
    SWAA_CUDA_OK(cuda_msg(cudaMemcpyAsync(result.logits.data(), logits, result.logits.size() * sizeof(float),
                                          cudaMemcpyDeviceToHost, stream_)));
  }
  SWAA_CUDA_OK(cuda_msg(cudaStreamSynchronize(stream_)));
  g.last_used = ++clock_;
  mode_ = StepMode::kIdle;
  return result;
}

}  // namespace swaa
