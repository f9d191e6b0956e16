// AttentionLayout: the varlen batch layout every backend's attention and KV-write ops consume
// (as FlashAttention/vLLM): tokens of several sequences flattened, each with its absolute
// position and phase, plus per-sequence key counts and per-KV-group block tables.
// Pure data; built by the engine from the KV manager, validated there. Tests: tests/unit/kv/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace swaa {

// KV layer groups (DESIGN.md §1): "full" layers keep every key; "windowed" layers (sliding with
// FA decode off) release blocks that fall out of every future query's window (SWAA.md §3).
enum class KvGroup : int { kFull = 0, kWindowed = 1 };
inline constexpr int kNumKvGroups = 2;
inline constexpr int kReleasedBlock = -1;  // block-table entry of a released (or never needed) block

struct AttentionLayout {
  int num_seqs = 0;
  int num_tokens = 0;
  int block_size = 0;
  std::vector<int> cu_seqlens_q;    // [num_seqs + 1] token offsets of each sequence
  std::vector<int> positions;       // [num_tokens] absolute position of each token
  std::vector<uint8_t> generated;   // [num_tokens] 1 = generated token (decode phase), 0 = prompt
  std::vector<int> seqlen_k;        // [num_seqs] keys in the cache after this step's writes
  // Per group: block tables [num_seqs, max_blocks] row-major, and the cache slot
  // (block_id * block_size + offset) each token's K/V is written to.
  std::array<int, kNumKvGroups> max_blocks{};
  std::array<std::vector<int>, kNumKvGroups> block_tables;
  std::array<std::vector<int>, kNumKvGroups> slot_mapping;

  int block_id(KvGroup g, int seq, int key_pos) const {
    const int gi = static_cast<int>(g);
    return block_tables[gi][static_cast<size_t>(seq) * max_blocks[gi] + key_pos / block_size];
  }
};

}  // namespace swaa
