// KV budget split between the layer groups (reasoning in the header).
#include "engine/kv_sizing.h"

#include <algorithm>

namespace swaa {

KvCacheSpec size_kv_cache(const Model& model, const EngineOptions& options, int max_model_len, int64_t bytes) {
  const int bs = options.block_size;
  KvCacheSpec spec = model.kv_spec(bs, 0, 0);
  const auto& full = spec.groups[0];
  const auto& win = spec.groups[1];
  const int64_t full_block = static_cast<int64_t>(bs) * full.num_layers * full.bytes_per_token;
  const int64_t win_block = static_cast<int64_t>(bs) * win.num_layers * win.bytes_per_token;
  const int64_t seq_blocks = (max_model_len + bs - 1) / bs;
  int64_t win_blocks = 0, full_blocks = 0;
  if (win.num_layers > 0) {
    const int64_t bound = (spec.keep_first + bs - 1) / bs + (spec.window - 1 + options.max_num_batched_tokens) / bs + 2;
    const int64_t want = std::min<int64_t>(bound, seq_blocks + 1) * options.max_num_seqs;
    const int64_t cap = full.num_layers > 0 ? bytes / 2 : bytes;
    win_blocks = std::max<int64_t>(1, std::min(want, cap / win_block));
  }
  if (full.num_layers > 0) full_blocks = (bytes - win_blocks * win_block) / full_block;
  return model.kv_spec(bs, static_cast<int>(std::min<int64_t>(full_blocks, 1 << 30)),
                       static_cast<int>(std::min<int64_t>(win_blocks, 1 << 30)));
}

}  // namespace swaa
