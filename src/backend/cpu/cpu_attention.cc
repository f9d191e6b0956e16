// CPU SWAA attention: for every (token, head) the visible keys are the sinks [0, sink_end) and
// the window [window_begin, p]; only those slots are read (released blocks never are). Softmax
// in fp32 over exactly those scores (max-subtracted), GQA by head grouping.
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "core/check.h"

namespace swaa {

void CpuBackend::attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, KvGroup group,
                           const LayerPolicy& policy, float scale, Tensor& out) {
  SWAA_CHECK(layout_ != nullptr);
  const AttentionLayout& L = *layout_;
  const int64_t n = q.dim(0), heads = q.dim(1), d = q.dim(2);
  const int64_t kv_heads = k_cache.dim(1);
  const int64_t group_size = heads / kv_heads;
  SWAA_CHECK(n == L.num_tokens && heads % kv_heads == 0);
  const float* qs = q.data_as<float>();
  const float* ks = k_cache.data_as<float>();
  const float* vs = v_cache.data_as<float>();
  float* os = out.data_as<float>();
  const int bs = L.block_size;

  std::vector<int> seq_of_token(n);
  for (int s = 0; s < L.num_seqs; ++s) {
    for (int t = L.cu_seqlens_q[s]; t < L.cu_seqlens_q[s + 1]; ++t) seq_of_token[t] = s;
  }

#pragma omp parallel
  {
    std::vector<float> scores;
    std::vector<int64_t> rows;  // cache row of each visible key
#pragma omp for collapse(2) schedule(dynamic, 4)
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const int s = seq_of_token[t];
        const int pos = L.positions[t];
        SWAA_CHECK(pos < L.seqlen_k[s]);
        const KeyRanges r = visible_ranges(policy, pos, L.generated[t] != 0);
        rows.clear();
        auto add_range = [&](int begin, int end) {
          for (int j = begin; j < end; ++j) {
            const int block = L.block_id(group, s, j);
            SWAA_CHECK(block != kReleasedBlock);
            rows.push_back(static_cast<int64_t>(block) * bs + j % bs);
          }
        };
        add_range(0, r.sink_end);
        add_range(r.window_begin, r.window_end);
        const int64_t kvh = h / group_size;
        const float* qv = qs + (t * heads + h) * d;
        scores.resize(rows.size());
        float max_score = -INFINITY;
        for (size_t i = 0; i < rows.size(); ++i) {
          const float* kv = ks + (rows[i] * kv_heads + kvh) * d;
          float dot = 0;
#pragma omp simd reduction(+ : dot)
          for (int64_t c = 0; c < d; ++c) dot += qv[c] * kv[c];
          scores[i] = dot * scale;
          max_score = std::max(max_score, scores[i]);
        }
        float denom = 0;
        for (float& sc : scores) {
          sc = std::exp(sc - max_score);
          denom += sc;
        }
        float* ov = os + (t * heads + h) * d;
        for (int64_t c = 0; c < d; ++c) ov[c] = 0;
        for (size_t i = 0; i < rows.size(); ++i) {
          const float p = scores[i] / denom;
          const float* vv = vs + (rows[i] * kv_heads + kvh) * d;
#pragma omp simd
          for (int64_t c = 0; c < d; ++c) ov[c] += p * vv[c];
        }
      }
    }
  }
}

}  // namespace swaa
