// The ABI of the SWAA attention kernels (prefill and split-KV decode), as one plain params struct
// (FlashAttention flash.h style) plus host launchers. No CUDA types leak out: streams are void*.
// Mask: ../../../shared/SWAA.md §2, decided per query token from its phase flag; device code in
// attention_mask.cuh mirrors src/attention/layer_policy.h. Tests: tests/kernels/attention_kernel_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace swaa::cuda {

// All pointers are device pointers. Layout matches swaa::AttentionLayout (src/attention/attention_layout.h).
struct AttentionParams {
  // Queries and output, one row per token of the varlen batch (sequences back to back).
  const void* q = nullptr;  // [num_tokens, num_heads, head_dim] bf16
  void* out = nullptr;      // [num_tokens, num_heads, head_dim] bf16; every row is written

  // Paged KV cache: physical slot s = block_id * block_size + offset holds one key's K and V.
  const void* k_cache = nullptr;  // [num_blocks * block_size, num_kv_heads, head_dim] bf16
  const void* v_cache = nullptr;  // [num_blocks * block_size, num_kv_heads, head_dim] bf16

  const int* cu_seqlens_q = nullptr;  // [num_seqs + 1] token offsets of each sequence
  const int* positions = nullptr;     // [num_tokens] absolute position p; requires p < seqlen_k[seq]
  const uint8_t* generated = nullptr; // [num_tokens] 1 = generated token (decode phase), 0 = prompt
  const int* seqlen_k = nullptr;      // [num_seqs] keys [0, seqlen_k) in the cache
  // [num_seqs, max_blocks] row-major. Entry -1 = released block: never read, so every key in it must
  // be invisible to every query of the batch (out of window and not a sink).
  const int* block_table = nullptr;

  int num_seqs = 0;
  int num_tokens = 0;
  int max_seqlen_q = 0;  // >= every sequence's query count (sizes the prefill grid)
  int max_seqlen_k = 0;  // >= every seqlen_k (sizes the decode split heuristic only)
  int num_heads = 0;
  int num_kv_heads = 0;  // divides num_heads; query head h reads KV head h / (num_heads / num_kv_heads)
  int head_dim = 0;      // 64 or 128
  int block_size = 0;    // >= 1, any value (keys are gathered row by row); >= 16 keeps loads efficient
  int max_blocks = 0;    // row stride of block_table
  // Rows of k_cache and v_cache (num_blocks * block_size). 0 = not given: the Hopper prefill then
  // gathers keys with cp.async instead of TMA (a tensor map needs the cache's extent).
  long long num_slots = 0;

  // Layer policy (swaa::LayerPolicy): a query at p sees j <= p, and when the layer is sliding and the
  // token is not (generated with fa_decode), only j > p - window or j < keep_first.
  bool sliding = false;
  int window = 0;      // W >= 1 when sliding
  int keep_first = 0;  // S >= 0
  bool fa_decode = false;

  float softmax_scale = 0.f;  // usually 1/sqrt(head_dim)
};

// Validates the host-side fields of `p` (null pointers, sizes, supported head dims). Returns "" when
// the params are launchable, else a message naming the bad value. The launchers call it themselves.
std::string validate_attention_params(const AttentionParams& p);

// Prefill / mixed-batch attention: FlashAttention-2 style tiles of 128 queries x 64 keys per
// (sequence, query head), 4 warps x 32 rows, mma.sync bf16; key tiles outside every row's
// sinks ∪ window are never loaded. Returns "" on success, else an error message (bad params or a CUDA launch error).
std::string attention_prefill(const AttentionParams& p, void* stream);

// Prefill on Hopper (compute capability 9.0, head dim 128): the same tile walk and result as
// attention_prefill on warpgroup MMAs; the backend's prefill for head dim 128 where
// hopper_kernels_available(). Runs attention_prefill_sm90_tma where prefill_tma_supported(p), else
// its cp.async kernel (attention_prefill_sm90.cu). Checked by tests/kernels/attention_kernel_test.cc.
std::string attention_prefill_sm90(const AttentionParams& p, void* stream);
// The checks both Hopper prefill kernels' launchers make first (the params, head dim 128, and for
// num_tokens > 0 max_seqlen_q and a compute capability 9.0 GPU): "" or the problem, unprefixed.
std::string check_hopper_prefill(const AttentionParams& p);
// Its cp.async kernel alone (any block size; num_slots not needed).
std::string attention_prefill_sm90_cp_async(const AttentionParams& p, void* stream);
// The FlashAttention-3-structured Hopper prefill (attention_prefill_sm90_tma.cu): TMA loads from a
// producer warp, two consumer warpgroups overlapping softmax with the MMAs; same result as
// attention_prefill_sm90, which runs it wherever prefill_tma_supported(p) (SWAA_PREFILL_TMA=0: not).
// Each query tile's Q copy starts before its setup loads and O goes out through shared memory with
// TMA stores (SWAA_PREFILL_EARLY_SETUP=0 / SWAA_PREFILL_TMA_STORE=0 turn either off); with both on,
// the producer warp prepares each tile (setup in shared memory, Q by TMA;
// attention_prefill_sm90_prepared.cu, SWAA_PREFILL_PREPARED=0 turns it off).
std::string attention_prefill_sm90_tma(const AttentionParams& p, void* stream);
// How its query tiles (one per 128 queries, query head and sequence) are laid out on CTAs.
enum class PrefillSchedule {
  kPerTile = 0,     // one CTA per query tile; one head's tiles (longest first), then the next head
  kPersistent = 1,  // one CTA per SM walking the longest tiles of every head first, CTA c taking
                    // the c-th tile of even rounds of `grid` tiles and the c-th from the end of odd
                    // ones; the producer fills the next tile's K/V while the consumers finish the
                    // current one
  kPersistentOn3 = 2,  // kPersistent on 3 CTAs (tests: many tiles per CTA on a small problem)
};
// The schedule attention_prefill_sm90_tma runs (SWAA_PREFILL_SCHEDULE=tile or =persistent forces
// one): persistent on every layer (settled, H200 2026-12-04: W = 2048
// 500-516 TFLOP/s against 467-483 per tile; full causal 8k 575 against 539, 32k 596 against 594,
// 128k level; the engine's 128k full-attention TTFT 0.7% shorter, 32k level). With
// SWAA_PREFILL_EARLY_SETUP=0 or SWAA_PREFILL_TMA_STORE=0 the earlier rule, measured on that plain
// path: persistent on sliding layers whose queries span more than two windows and on layers with at
// most 8192 queries per sequence, per tile on longer full-attention prompts (128k: 577 persistent
// against 605 per tile).
// bench/attention_notes.md, "CTA schedules" and "Persistent on every layer". Persistent at 128k
// full causal is sensitive to the kernel's code (605 for this build, 562-567 for a variant whose per
// tile speed did not move; "persistent at 128k is fragile"): re-measure it after kernel changes.
PrefillSchedule prefill_tma_schedule(const AttentionParams& p);
// Timestamps of one launch of the TMA prefill, for bench/attention_bench --trace (the engine never
// asks for them). records: grid x prefill_trace_cta_words(rounds) words, zeroed by the caller; per
// CTA a header (kTrace* below: globaltimer ns at its start and each consumer warpgroup's end, its
// SM, clock64 at its start; the producer is not timed: its 40 registers would spill) and then, for
// consumer warpgroup wg and its k-th round (k < rounds), kTraceItemWords words at
// kTraceHeaderWords + (wg * rounds + k) * kTraceItemWords: the item's key tiles and clock64 at its
// events (0 where the round had no item).
struct PrefillTrace {
  unsigned long long* records = nullptr;
  int grid = 0, rounds = 0;  // the launch's CTAs and rounds (items per CTA at most)
};
inline constexpr int kTraceStartNs = 0, kTraceEndNs = 1 /* + wg */, kTraceSm = 3, kTraceStartClock = 4,
                     kTraceHeaderWords = 8;
inline constexpr int kTraceTiles = 0, kTraceItemStart = 1, kTraceQReady = 2, kTraceFirstScores = 3,
                     kTraceLoopDone = 4, kTraceLastProduct = 5, kTraceStored = 6, kTraceItemWords = 8;
inline size_t prefill_trace_cta_words(int rounds) {
  return kTraceHeaderWords + 2 * static_cast<size_t>(rounds) * kTraceItemWords;
}
// The grid and rounds a launch of `schedule` on `p` has (query tiles of 128, per head and sequence).
PrefillTrace prefill_trace_shape(const AttentionParams& p, PrefillSchedule schedule);
// `trace`: nullptr, or records sized by prefill_trace_shape for this launch.
std::string attention_prefill_sm90_tma_schedule(const AttentionParams& p, PrefillSchedule schedule, void* stream,
                                                const PrefillTrace* trace = nullptr);
// Head dim 128, num_slots given, block_size >= 8 dividing 128 or a multiple of it, a driver with TMA.
bool prefill_tma_supported(const AttentionParams& p);
// Whether the Hopper kernels can run here: a compute capability 9.0 GPU and device code built for
// sm_90a (SWAA_CUDA_ARCHS=90a, the default). Probes the current device once per process.
bool hopper_kernels_available();
// Its two matrix products alone, on one warpgroup with its layouts (wgmma_check.cu), for tests:
// device pointers, row-major; q, p [64][128] and k, v [128][128] bf16; s_out = Q K^T and
// o_out = P V, [64][128] fp32. Synchronises; returns "" or the CUDA error.
std::string wgmma_check(const uint16_t* q, const uint16_t* k, const uint16_t* p, const uint16_t* v, float* s_out,
                        float* o_out);

// Decode attention: every token is one query (its own position and phase), all query heads of a KV
// head processed together, keys split over `num_splits` CTAs, then combined. Also correct for any
// batch (prefill tokens too), but meant for one query token per sequence.
// num_splits in [1, kDecodeMaxSplits], usually decode_num_splits(). Workspace: at least
// decode_workspace_bytes(p, num_splits) bytes of device memory (null when that is 0), not shared
// with a concurrent launch.
std::string attention_decode(const AttentionParams& p, int num_splits, void* workspace, void* stream);

// Split heuristic (reasoning in attention_decode.cu) and the workspace size it needs.
int decode_num_splits(const AttentionParams& p, int num_sms);
size_t decode_workspace_bytes(const AttentionParams& p, int num_splits);

inline constexpr int kDecodeMaxSplits = 128;
inline constexpr int kDecodeMaxGroup = 16;  // num_heads / num_kv_heads handled by one decode CTA

}  // namespace swaa::cuda
