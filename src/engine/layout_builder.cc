// Step layout construction (see layout_builder.h).
#include "engine/layout_builder.h"

#include <algorithm>

namespace swaa {

AttentionLayout build_layout(const KvCacheManager& kv, const std::vector<LayoutChunk>& chunks, std::vector<int32_t>& ids) {
  AttentionLayout L;
  ids.clear();
  L.num_seqs = static_cast<int>(chunks.size());
  L.block_size = kv.spec().block_size;
  L.cu_seqlens_q.push_back(0);
  for (int g = 0; g < kNumKvGroups; ++g) {
    for (const LayoutChunk& c : chunks) {
      L.max_blocks[g] = std::max(L.max_blocks[g], static_cast<int>(c.kv->block_tables[g].size()));
    }
  }
  for (const LayoutChunk& c : chunks) {
    for (int t = c.begin; t < c.begin + c.count; ++t) {
      ids.push_back((*c.tokens)[t]);
      L.positions.push_back(t);
      L.generated.push_back(t >= c.prompt_len ? 1 : 0);
      for (int g = 0; g < kNumKvGroups; ++g) {
        if (kv.spec().groups[g].num_layers > 0) L.slot_mapping[g].push_back(kv.slot(*c.kv, static_cast<KvGroup>(g), t));
      }
    }
    L.cu_seqlens_q.push_back(static_cast<int>(ids.size()));
    L.seqlen_k.push_back(c.begin + c.count);
    for (int g = 0; g < kNumKvGroups; ++g) {
      std::vector<int> row = c.kv->block_tables[g];
      row.resize(L.max_blocks[g], kReleasedBlock);
      L.block_tables[g].insert(L.block_tables[g].end(), row.begin(), row.end());
    }
  }
  L.num_tokens = static_cast<int>(ids.size());
  return L;
}

}  // namespace swaa
