// Builds the varlen AttentionLayout (and the token ids) of one step from the chunks scheduled for
// it: positions, phases (generated iff position >= prompt_len), keys per sequence, block tables
// padded to the longest, cache slots per KV group. Shared by the engine and score_tokens.
#pragma once

#include <vector>

#include "attention/attention_layout.h"
#include "kv/kv_cache_manager.h"

namespace swaa {

struct LayoutChunk {
  const SequenceKv* kv = nullptr;
  const std::vector<int32_t>* tokens = nullptr;  // the sequence's tokens (prompt + generated)
  int prompt_len = 0;
  int begin = 0;  // first position of the chunk
  int count = 0;
};

// Appends the chunks' token ids to `ids` (cleared first) and returns the layout.
AttentionLayout build_layout(const KvCacheManager& kv, const std::vector<LayoutChunk>& chunks, std::vector<int32_t>& ids);

}  // namespace swaa
