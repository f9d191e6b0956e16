// Splits a KV cache byte budget between the full and the windowed layer group.
// Reasoning: a windowed-group sequence never holds more than ceil(S/bs) + (W-1+chunk)/bs + 2
// blocks (docs/kv_cache.md), so max_num_seqs such bounds is all that group can ever use; it gets
// that (at most half the budget when both groups exist) and the full group gets the rest, where
// memory grows with sequence length. Example: Qwen3-4B-like 36 layers, W=2048, S=100, chunk 512,
// bs 16, 16 seqs, half the layers windowed: 16 x 167 blocks x 16 tok x 18 layers x 4 KiB = 0.8 GiB.
#pragma once

#include "kv/kv_cache_manager.h"
#include "model/model.h"
#include "swaa/engine.h"

namespace swaa {

KvCacheSpec size_kv_cache(const Model& model, const EngineOptions& options, int max_model_len, int64_t bytes);

}  // namespace swaa
