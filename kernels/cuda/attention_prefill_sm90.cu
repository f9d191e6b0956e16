// SWAA prefill attention on Hopper (sm_90a): the tile walk of attention_prefill.cu (128-query tile
// per CTA, only the key tiles of the rows' sinks ∪ windows, per-row phase masks) with the matrix
// products on warpgroup MMAs. Two warpgroups of 64 query rows; 128-key tiles gathered from the paged
// cache with cp.async into 128-byte-swizzled shared memory, two stages; S = Q K^T with Q and K from
// shared memory (wgmma SS), the online softmax on S's registers, O += P V with P from registers and
// V from shared memory transposed (wgmma RS). Head dim 128 only. Not yet a FlashAttention-3: no TMA,
// no producer warpgroup, no overlap of one tile's softmax with the next tile's S inside a warpgroup,
// and both warpgroups meet at one barrier per tile (the tensor pipe idles while both exponentiate).
// Status: the CUDA backend's prefill for head dim 128 on Hopper since its first H200 run
// (2026-12-02): 434 TFLOP/s causal and 360 at W = 2048 at 128k, against 323 and 282-285 for the
// mma.sync kernel (bench/attention_notes.md). A warp-specialised version (producer warpgroup on
// mbarriers, S of tile i issued before P V of tile i-1) was slower, 379 causal (commit b7d356d).
#include <cuda_runtime.h>

#include <cstdlib>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "device_info.h"
#include "swaa_attention.h"
#include "wgmma.cuh"

namespace swaa::cuda {
namespace {

constexpr int kD = 128;
constexpr int kBM = 128;  // query rows per CTA: 2 warpgroups x 64
constexpr int kBN = 128;  // keys per tile
constexpr int kThreads = 256;
constexpr int kTileBytes = kBN * kD * 2;  // 32 KiB; Q is the same size
constexpr int kStages = 2;
constexpr int kSmem = (1 + 2 * kStages) * kTileBytes + 1024;  // + slack to align the base to 1024

__global__ void __launch_bounds__(kThreads, 1) prefill_sm90_kernel(const __grid_constant__ AttentionParams p) {
#if SWAA_WGMMA_AVAILABLE
  extern __shared__ unsigned char smem_raw[];
  const uint32_t q_smem = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t kv_smem = q_smem + kTileBytes;  // stage s: K at + 2s tiles, V at + (2s + 1) tiles

  const PrefillCta<kBM> cta(p);
  if (cta.empty()) return;
  const int seq = cta.seq, head = cta.head, kv_head = cta.kv_head;
  const int q_begin = cta.q_begin, q_len = cta.q_len, m0 = cta.m0;
  const int seqlen_k = p.seqlen_k[seq];
  const int* bt_row = p.block_table + static_cast<long long>(seq) * p.max_blocks;
  const int tid = threadIdx.x, lane = tid % 32;
  const int wg = tid / 128, warp_in_wg = (tid % 128) / 32;
  const __nv_bfloat16* k_cache = static_cast<const __nv_bfloat16*>(p.k_cache);
  const __nv_bfloat16* v_cache = static_cast<const __nv_bfloat16*>(p.v_cache);

  const CtaKeyRanges keys = cta_key_ranges<kBM, kThreads>(p, q_begin, m0, q_len);
  const TileList tiles = keys.tiles<kBN>();
  const int num_tiles = tiles.size();
  auto needed = [&](int key) { return keys.needed(key); };

  // Q tile (rows past q_len zero-filled), then the first K/V tile; one cp.async group each.
  {
    const __nv_bfloat16* q_base = static_cast<const __nv_bfloat16*>(p.q);
    const int chunk = tid % 16;
    for (int r = tid / 16; r < kBM; r += kThreads / 16) {
      const bool valid = m0 + r < q_len;
      const long long off = valid ? (static_cast<long long>(q_begin + m0 + r) * p.num_heads + head) * kD + chunk * 8 : 0;
      cp_async16(q_smem + sw128_offset<kBM>(r, chunk), q_base + off, valid ? 16 : 0);
    }
    cp_async_commit();
  }
  PagedTileLoader<kBN, kD, kThreads, true> loader;
  if (num_tiles > 0) {
    loader.locate(bt_row, p.block_size, seqlen_k, tiles.tile(0) * kBN, needed);
    loader.issue(k_cache, v_cache, p.num_kv_heads, kv_head, kv_smem, kv_smem + kTileBytes);
  }
  cp_async_commit();

  // This thread's rows of the warpgroup's accumulators (the mma.sync C layout per 16-row warp slice).
  const int row0 = m0 + wg * 64 + warp_in_wg * 16 + lane / 4;  // and row0 + 8
  unsigned row_gen = 0;
  const int row_pos[2] = {row_phase(p, q_begin, q_len, row0, row_gen, 0),
                          row_phase(p, q_begin, q_len, row0 + 8, row_gen, 1)};
  float o[kD / 8][4];
#pragma unroll
  for (int i = 0; i < kD / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  const float scale_log2 = p.softmax_scale * kLog2e;
  const uint32_t q_wg = q_smem + wg * 64 * 128;  // this warpgroup's 64 rows in each column half

  for (int i = 0; i < num_tiles; ++i) {
    const int ahead = i + 1;
    if (ahead < num_tiles) loader.locate(bt_row, p.block_size, seqlen_k, tiles.tile(ahead) * kBN, needed);
    cp_async_wait<0>();
    fence_proxy_async_smem();  // the copies must be visible to wgmma's async proxy
    __syncthreads();           // tile i landed for every thread; both warpgroups are done with tile i - 1
    if (ahead < num_tiles) {   // into the stage tile i - 1 used
      const uint32_t k = kv_smem + (ahead % kStages) * 2 * kTileBytes;
      loader.issue(k_cache, v_cache, p.num_kv_heads, kv_head, k, k + kTileBytes);
    }
    cp_async_commit();
    const uint32_t k_tile = kv_smem + (i % kStages) * 2 * kTileBytes, v_tile = k_tile + kTileBytes;
    const int k0 = tiles.tile(i) * kBN;

    float s[kBN / 8][4];
    wgmma_qk_128(s, q_wg, k_tile);
    wgmma_wait<0>();
    wgmma_hold(s);

    if (!keys.tile_full(k0, kBN)) mask_scores<kBN>(s, p, row_pos, row_gen, k0);
#pragma unroll
    for (int h = 0; h < 2; ++h) online_softmax_row<kBN, kD / 8>(s, h, row_max[h], row_sum[h], o, scale_log2);

    // O += P V: P's bf16 A fragments straight from S's registers.
    uint32_t pk[kBN / 16][4];
    pack_c_to_a<kBN>(s, pk);
    wgmma_pv_128(o, pk, v_tile);
    wgmma_wait<0>();
    wgmma_hold(o);
  }
  cp_async_wait<0>();

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    store_out_row<kD / 8>(p.out, p.num_heads, head, q_begin, q_len, row0 + 8 * h, o, h, row_sum[h], lane);
  }
#else
  __trap();  // built without sm_90a (SWAA_CUDA_ARCHS=90a has wgmma): the launch fails loudly
#endif
}

__global__ void wgmma_probe_kernel(int* out) { *out = SWAA_WGMMA_AVAILABLE; }

}  // namespace

bool hopper_kernels_available() {
  static const bool available = [] {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess || compute_capability(device) != 90) return false;
    int* d = nullptr;
    if (cudaMalloc(&d, sizeof(int)) != cudaSuccess) return false;
    int h = 0;
    wgmma_probe_kernel<<<1, 1>>>(d);
    const bool ok = cudaMemcpy(&h, d, sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess && h == 1;
    cudaFree(d);
    cudaGetLastError();  // a build without code for this GPU fails the launch: clear that error
    return ok;
  }();
  return available;
}

std::string check_hopper_prefill(const AttentionParams& p) {
  std::string err = validate_attention_params(p);
  if (!err.empty()) return err;
  if (p.head_dim != kD) return "head_dim must be 128, got " + std::to_string(p.head_dim);
  if (p.num_tokens == 0) return "";
  if (p.max_seqlen_q < 1) return "max_seqlen_q must be >= 1, got " + std::to_string(p.max_seqlen_q);
  int device = 0;
  cudaGetDevice(&device);
  const int cc = compute_capability(device);
  if (cc != 90) {
    return "needs a compute capability 9.0 GPU (H100/H200), this one is " +
           (cc < 0 ? std::string("unknown") : std::to_string(cc / 10) + "." + std::to_string(cc % 10));
  }
  return "";
}

std::string attention_prefill_sm90_cp_async(const AttentionParams& p, void* stream) {
  const std::string err = check_hopper_prefill(p);
  if (!err.empty()) return "attention_prefill_sm90_cp_async: " + err;
  if (p.num_tokens == 0) return "";
  cudaError_t e = cudaFuncSetAttribute(prefill_sm90_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (e != cudaSuccess) return std::string("attention_prefill_sm90_cp_async: ") + cudaGetErrorString(e);
  const dim3 grid((p.max_seqlen_q + kBM - 1) / kBM, p.num_heads, p.num_seqs);
  prefill_sm90_kernel<<<grid, kThreads, kSmem, static_cast<cudaStream_t>(stream)>>>(p);
  e = cudaGetLastError();
  if (e != cudaSuccess) return std::string("attention_prefill_sm90_cp_async: launch failed: ") + cudaGetErrorString(e);
  return "";
}

std::string attention_prefill_sm90(const AttentionParams& p, void* stream) {
  static const bool tma = [] {  // SWAA_PREFILL_TMA=0: the cp.async kernel even where TMA works
    const char* v = std::getenv("SWAA_PREFILL_TMA");
    return !(v != nullptr && std::string(v) == "0");
  }();
  if (tma && prefill_tma_supported(p)) return attention_prefill_sm90_tma(p, stream);
  return attention_prefill_sm90_cp_async(p, stream);
}

}  // namespace swaa::cuda
