// score_tokens: loads the model on the CPU backend, sizes the paged KV cache for the sequence
// (the windowed group only for its live bound), then runs prefill chunks and decode steps,
// releasing out-of-window blocks before each step allocates (SWAA.md §3).
#include "swaa/score.h"

#include <chrono>
#include <cmath>

#include "attention/attention_layout.h"
#include "backend/backend.h"
#include "engine/layout_builder.h"
#include "kv/kv_cache_manager.h"
#include "model/model.h"

namespace swaa {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Result<ScoreResult> score_tokens(const ScoreOptions& opt, const std::vector<int32_t>& tokens) {
  const int T = static_cast<int>(tokens.size());
  if (T < 2) return invalid_argument("scoring needs at least 2 tokens, got " + std::to_string(T));
  if (opt.prompt_tokens < 1 || opt.prompt_tokens > T) {
    return invalid_argument("prompt length " + std::to_string(opt.prompt_tokens) + " must be in [1, " +
                            std::to_string(T) + "] for " + std::to_string(T) + " tokens");
  }
  if (opt.prefill_chunk < 0) return invalid_argument("prefill chunk must be >= 0, got " + std::to_string(opt.prefill_chunk));
  if (opt.block_size < 1) return invalid_argument("block size must be >= 1, got " + std::to_string(opt.block_size));

  ScoreResult result;
  auto t0 = std::chrono::steady_clock::now();
  SWAA_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, make_backend(opt.device, opt.num_threads));
  SWAA_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::load(opt.model_dir, *backend, opt.swaa));
  const ModelConfig& mc = model->config();
  for (int i = 0; i < T; ++i) {
    if (tokens[i] < 0 || tokens[i] >= mc.vocab_size) {
      return invalid_argument("token id " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                              " is outside the vocabulary [0, " + std::to_string(mc.vocab_size) + ") of " +
                              opt.model_dir);
    }
  }

  // Pool sizes: the full group holds the whole sequence; the windowed group at most the sink
  // blocks plus the blocks spanned by (W - 1 + chunk) positions, +2 for partial blocks at both ends.
  const int bs = opt.block_size;
  const int P = opt.prompt_tokens;
  const int chunk = opt.prefill_chunk > 0 ? std::min(opt.prefill_chunk, P) : P;
  const int seq_blocks = (T + bs - 1) / bs;
  KvCacheSpec probe = model->kv_spec(bs, 0, 0);
  const int windowed_bound = (probe.keep_first + bs - 1) / bs + (probe.window - 1 + chunk) / bs + 2;
  KvCacheSpec spec = model->kv_spec(bs, seq_blocks, std::min(seq_blocks, windowed_bound));
  SWAA_RETURN_IF_ERROR(model->allocate_kv(spec));
  KvCacheManager kv(spec);
  SequenceKv seq;
  result.load_seconds = seconds_since(t0);

  result.logprobs.assign(T - 1, 0.0);
  int done = 0;
  while (done < T) {
    const bool prefill = done < P;
    const int count = prefill ? std::min(chunk, P - done) : 1;
    auto step_start = std::chrono::steady_clock::now();
    kv.release_out_of_window(seq, done);
    SWAA_RETURN_IF_ERROR(kv.append(seq, count));
    std::vector<int32_t> ids;
    AttentionLayout layout = build_layout(kv, {{&seq, &tokens, P, done, count}}, ids);
    std::vector<int> rows;
    for (int i = 0; i < count; ++i) {
      if (done + i + 1 < T) rows.push_back(i);
    }
    SWAA_ASSIGN_OR_RETURN(std::vector<float> logits, model->forward(ids, layout, rows));
    const int V = mc.vocab_size;
    for (size_t r = 0; r < rows.size(); ++r) {
      const float* row = logits.data() + r * V;
      double mx = row[0];
      for (int v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
      double sum = 0;
      for (int v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
      const int t = done + rows[r];
      result.logprobs[t] = row[tokens[t + 1]] - mx - std::log(sum);
    }
    done += count;
    (prefill ? result.prefill_seconds : result.decode_seconds) += seconds_since(step_start);
    KvSample sample{done, kv.live_bytes(KvGroup::kFull), kv.live_bytes(KvGroup::kWindowed)};
    result.peak_kv_bytes = std::max(result.peak_kv_bytes, sample.full_bytes + sample.windowed_bytes);
    result.kv_trace.push_back(sample);
    if (opt.progress) opt.progress(done, T);
  }
  return result;
}

}  // namespace swaa
