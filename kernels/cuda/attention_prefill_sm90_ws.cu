// SWAA prefill attention on Hopper (sm_90a), warp-specialised: the tile walk of attention_prefill.cu
// (128-query tile per CTA, only the key tiles of the rows' sinks ∪ windows, per-row phase masks) in
// the structure of FlashAttention-3.
//  - A producer warpgroup gathers 128-key K and V tiles from the paged cache with cp.async into
//    128-byte-swizzled shared memory (two stages each) and publishes each on an mbarrier; K and V
//    have barriers of their own, so the next K tile loads while the current V tile is still read.
//  - Two consumer warpgroups of 64 query rows each run S = Q K^T (wgmma, Q and K from shared memory)
//    and O += P V (wgmma, P from registers, V from shared memory transposed), and overlap inside the
//    warpgroup: tile i's S is issued, then tile i-1's P V, and tile i's softmax runs while that P V
//    is in flight. The warpgroups never wait for each other, so one's softmax also fills the other's
//    MMA gaps.
// Head dim 128 only; any block size (keys are gathered row by row). Checked against the fp64
// reference by tests/kernels/attention_kernel_test.cc (AttentionKernelsSm90).
#include <cuda_runtime.h>

#include <cstdlib>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "mbarrier.cuh"
#include "swaa_attention.h"
#include "wgmma.cuh"

namespace swaa::cuda {
namespace {

constexpr int kD = 128;
constexpr int kBM = 128;  // query rows per CTA: 2 warpgroups x 64
constexpr int kBN = 128;  // keys per tile
constexpr int kConsumerThreads = 256;
// + the producer warpgroup, which gives most of its registers to the consumers. (One producer warp
// was instruction-bound: 3.4x slower than loading from all consumer threads.)
constexpr int kThreads = kConsumerThreads + 128;
constexpr int kProducerWarp = kConsumerThreads / 32;
constexpr int kProducerRegs = 40, kConsumerRegs = 232;  // 128 x 40 + 256 x 232 <= 64K
constexpr int kTileBytes = kBN * kD * 2;  // 32 KiB; Q is the same size
constexpr int kStages = 2;
// Q, then K stages, then V stages; + slack to align the base to 1024 (the swizzle's period).
constexpr int kSmem = (1 + 2 * kStages) * kTileBytes + 1024;

struct Barriers {
  unsigned long long full_k[kStages], full_v[kStages];    // producer -> consumers (128 threads)
  unsigned long long empty_k[kStages], empty_v[kStages];  // consumers -> producer (8 warps)
};

#if SWAA_WGMMA_AVAILABLE
// Lets the consumers read what this thread's cp.async copies wrote: wait for them, make them
// visible to the async proxy (wgmma), arrive.
template <int kPending>
__device__ __forceinline__ void publish(uint32_t bar) {
  cp_async_wait<kPending>();
  fence_proxy_async_smem();
  mbar_arrive(bar);
}

__device__ __forceinline__ void wgmma_hold_a(uint32_t (&a)[kBN / 16][4]) {
#pragma unroll
  for (int j = 0; j < kBN / 16; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(a[j][e])::"memory");
  }
}
#endif

// kPingPong: the two consumer warpgroups take turns issuing their MMAs (named barriers 3 and 4,
// FlashAttention-3's warp scheduler barriers), so one's softmax runs under the other's MMAs.
template <bool kPingPong>
__global__ void __launch_bounds__(kThreads, 1) prefill_sm90_ws_kernel(const __grid_constant__ AttentionParams p) {
#if SWAA_WGMMA_AVAILABLE
  extern __shared__ unsigned char smem_raw[];
  __shared__ Barriers bars;
  const uint32_t q_smem = (smem_u32(smem_raw) + 1023u) & ~1023u;
  const uint32_t k_smem = q_smem + kTileBytes;              // stage s at + s tiles
  const uint32_t v_smem = k_smem + kStages * kTileBytes;

  const int seq = blockIdx.z;
  const int head = blockIdx.y;
  const int m_block = gridDim.x - 1 - blockIdx.x;  // longest causal rows first
  const int q_begin = p.cu_seqlens_q[seq];
  const int q_len = p.cu_seqlens_q[seq + 1] - q_begin;
  const int m0 = m_block * kBM;
  if (m0 >= q_len) return;
  const int kv_head = head / (p.num_heads / p.num_kv_heads);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbar_init(smem_u32(&bars.full_k[s]), 128);
      mbar_init(smem_u32(&bars.full_v[s]), 128);
      mbar_init(smem_u32(&bars.empty_k[s]), kConsumerThreads / 32);
      mbar_init(smem_u32(&bars.empty_v[s]), kConsumerThreads / 32);
    }
  }
  // Its two barriers also publish the mbarrier initialisation to every thread.
  const CtaKeyRanges keys = cta_key_ranges<kBM, kThreads>(p, q_begin, m0, q_len);
  const TileList tiles = keys.tiles<kBN>();
  const int num_tiles = tiles.size();  // >= 1: row m0 sees at least itself

  if (warp >= kProducerWarp) {
    setmaxnreg_dec<kProducerRegs>();
    const int seqlen_k = p.seqlen_k[seq];
    const int* bt_row = p.block_table + static_cast<long long>(seq) * p.max_blocks;
    const __nv_bfloat16* k_cache = static_cast<const __nv_bfloat16*>(p.k_cache);
    const __nv_bfloat16* v_cache = static_cast<const __nv_bfloat16*>(p.v_cache);
    auto needed = [&](int key) { return keys.needed(key); };
    PagedTileLoader<kBN, kD, 128, true, kConsumerThreads> g;
    g.locate(bt_row, p.block_size, seqlen_k, tiles.tile(0) * kBN, needed);
    // Tile j: K_j then V_j, each into its stage once the consumers released it (tile j - 2). In
    // flight at most V_{j-1}, K_j, V_j: each is published as soon as the next copy is issued.
    for (int j = 0; j < num_tiles; ++j) {
      const int s = j % kStages;
      const uint32_t reuse_parity = ((j / kStages) - 1) & 1;
      if (j >= kStages) mbar_wait(smem_u32(&bars.empty_k[s]), reuse_parity);
      g.issue_one(k_cache, p.num_kv_heads, kv_head, k_smem + s * kTileBytes);
      cp_async_commit();
      if (j > 0) publish<1>(smem_u32(&bars.full_v[(j - 1) % kStages]));
      if (j >= kStages) mbar_wait(smem_u32(&bars.empty_v[s]), reuse_parity);
      g.issue_one(v_cache, p.num_kv_heads, kv_head, v_smem + s * kTileBytes);
      cp_async_commit();
      if (j + 1 < num_tiles) g.locate(bt_row, p.block_size, seqlen_k, tiles.tile(j + 1) * kBN, needed);
      publish<1>(smem_u32(&bars.full_k[s]));
    }
    publish<0>(smem_u32(&bars.full_v[(num_tiles - 1) % kStages]));
    return;
  }

  setmaxnreg_inc<kConsumerRegs>();
  // Consumers. Warpgroup wg owns query rows [wg * 64, wg * 64 + 64) of the tile; this thread's rows
  // in the accumulators (the mma.sync C layout per 16-row warp slice):
  const int wg = warp / 4, warp_in_wg = warp % 4;
  {  // this warpgroup's 64 Q rows (rows past q_len zero-filled), ready for wgmma
    const __nv_bfloat16* q_base = static_cast<const __nv_bfloat16*>(p.q);
    const int chunk = tid % 16;
    for (int r = wg * 64 + (tid % 128) / 16; r < wg * 64 + 64; r += 8) {
      const bool valid = m0 + r < q_len;
      const long long off = valid ? (static_cast<long long>(q_begin + m0 + r) * p.num_heads + head) * kD + chunk * 8 : 0;
      cp_async16(q_smem + sw128_offset<kBM>(r, chunk), q_base + off, valid ? 16 : 0);
    }
    cp_async_commit();
    cp_async_wait<0>();
    fence_proxy_async_smem();
    named_bar_sync(1 + wg, 128);
  }
  int row_pos[2];
  unsigned row_gen = 0;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = m0 + wg * 64 + warp_in_wg * 16 + lane / 4 + h * 8;
    row_pos[h] = r < q_len ? p.positions[q_begin + r] : -1;
    if (r < q_len && p.generated[q_begin + r] != 0) row_gen |= 1u << h;
  }
  float o[kD / 8][4];
#pragma unroll
  for (int i = 0; i < kD / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  const float scale_log2 = p.softmax_scale * kLog2e;
  const uint32_t q_wg = q_smem + wg * 64 * 128;  // this warpgroup's 64 rows in each column half
  float s[kBN / 8][4];
  uint32_t pk[kBN / 16][4];

  // S = Q K^T for the tile in stage `st`: 8 k-steps of 16 columns (4 per 64-column half, +32 B each).
  auto issue_qk = [&](int st) {
    const uint32_t k_tile = k_smem + st * kTileBytes;
    wgmma_hold(s);
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      const uint32_t col = (kk / 4) * kBM * 128 + (kk % 4) * 32;
      const uint32_t kcol = (kk / 4) * kBN * 128 + (kk % 4) * 32;
      wgmma_m64n128k16_ss(s, sw128_desc(q_wg + col, 16, 1024), sw128_desc(k_tile + kcol, 16, 1024), kk > 0 ? 1 : 0);
    }
    wgmma_commit();
  };
  // O += P V for the tile in stage `st` (16 keys = 2048 bytes per k-step; halves kBN * 128 B apart).
  auto issue_pv = [&](int st) {
    const uint32_t v_tile = v_smem + st * kTileBytes;
    wgmma_hold(o);
    wgmma_hold_a(pk);
    wgmma_fence();
#pragma unroll
    for (int ks = 0; ks < kBN / 16; ++ks) {
      wgmma_m64n128k16_rs_tb(o, pk[ks], sw128_desc(v_tile + ks * 16 * 128, kBN * 128, 1024));
    }
    wgmma_commit();
  };
  auto release = [&](unsigned long long& bar) {
    if (lane == 0) mbar_arrive(smem_u32(&bar));  // after the warp's wgmma_wait: its reads are done
  };
  // Mask and exponentiate tile i's scores; returns the rows' rescale factors for o.
  auto softmax = [&](int i, float (&alpha)[2]) {
    const int k0 = tiles.tile(i) * kBN;
    if (!keys.tile_full(k0, kBN)) mask_scores<kBN>(s, p, row_pos, row_gen, k0);
#pragma unroll
    for (int h = 0; h < 2; ++h) alpha[h] = softmax_row_exp<kBN>(s, h, row_max[h], row_sum[h], scale_log2);
  };

  // Turn taking: wait for this warpgroup's turn before issuing, hand the turn over after.
  auto my_turn = [&] {
    if constexpr (kPingPong) named_bar_sync(3 + wg, 256);
  };
  auto your_turn = [&] {
    if constexpr (kPingPong) named_bar_arrive(3 + (1 - wg), 256);
  };
  if (wg == 1) your_turn();  // warpgroup 0 goes first

  float alpha[2];
  mbar_wait(smem_u32(&bars.full_k[0]), 0);
  my_turn();
  issue_qk(0);
  your_turn();
  wgmma_wait<0>();
  wgmma_hold(s);
  release(bars.empty_k[0]);
  softmax(0, alpha);
  pack_c_to_a<kBN>(s, pk);
  for (int i = 1; i < num_tiles; ++i) {
    const int st = i % kStages, prev = (i - 1) % kStages;
    mbar_wait(smem_u32(&bars.full_k[st]), (i / kStages) & 1);
    mbar_wait(smem_u32(&bars.full_v[prev]), ((i - 1) / kStages) & 1);
    my_turn();
    issue_qk(st);
    issue_pv(prev);
    your_turn();
    wgmma_wait<1>();  // S_i is in; P_{i-1} V_{i-1} may still run
    wgmma_hold(s);
    release(bars.empty_k[st]);
    softmax(i, alpha);
    // Pin the softmax here, under the P V in flight: without this the compiler sinks the
    // exponentials below the wait to where they are used (seen in the SASS), and nothing overlaps.
    wgmma_hold(s);
    asm volatile("" : "+f"(alpha[0]), "+f"(alpha[1]), "+f"(row_sum[0]), "+f"(row_sum[1])::"memory");
    wgmma_wait<0>();
    wgmma_hold(o);
    wgmma_hold_a(pk);
    release(bars.empty_v[prev]);
#pragma unroll
    for (int h = 0; h < 2; ++h) rescale_row<kD / 8>(o, h, alpha[h]);
    pack_c_to_a<kBN>(s, pk);
  }
  {
    const int last = (num_tiles - 1) % kStages;
    mbar_wait(smem_u32(&bars.full_v[last]), ((num_tiles - 1) / kStages) & 1);
    my_turn();
    issue_pv(last);
    if (wg == 0) your_turn();  // warpgroup 1 issues last: no arrival left without its sync
    wgmma_wait<0>();
    wgmma_hold(o);
  }

  // Epilogue: normalise and store the valid rows.
  __nv_bfloat16* out = static_cast<__nv_bfloat16*>(p.out);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float l = warp_sum4(row_sum[h]);
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const int r = m0 + wg * 64 + warp_in_wg * 16 + lane / 4 + h * 8;
    if (r >= q_len) continue;
    store_row_bf16<kD / 8>(out + (static_cast<long long>(q_begin + r) * p.num_heads + head) * kD, o, h, inv, lane);
  }
#else
  __trap();  // built without sm_90a (SWAA_CUDA_ARCHS=90a has wgmma): the launch fails loudly
#endif
}

__global__ void wgmma_probe_kernel(int* out) { *out = SWAA_WGMMA_AVAILABLE; }

}  // namespace

bool hopper_kernels_available() {
  static const bool available = [] {
    int device = 0, major = 0, minor = 0;
    if (cudaGetDevice(&device) != cudaSuccess) return false;
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
    cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
    if (major != 9 || minor != 0) return false;
    int* d = nullptr;
    if (cudaMalloc(&d, sizeof(int)) != cudaSuccess) return false;
    int h = 0;
    wgmma_probe_kernel<<<1, 1>>>(d);
    const bool ok = cudaMemcpy(&h, d, sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess && h == 1;
    cudaFree(d);
    cudaGetLastError();  // a build without code for this GPU fails the launch: clear it
    return ok;
  }();
  return available;
}

std::string attention_prefill_sm90_ws(const AttentionParams& p, void* stream) {
  std::string err = validate_attention_params(p);
  if (!err.empty()) return "attention_prefill_sm90_ws: " + err;
  if (p.head_dim != kD) return "attention_prefill_sm90_ws: head_dim must be 128, got " + std::to_string(p.head_dim);
  if (p.num_tokens == 0) return "";
  if (p.max_seqlen_q < 1) return "attention_prefill_sm90_ws: max_seqlen_q must be >= 1, got " + std::to_string(p.max_seqlen_q);
  int device = 0, major = 0, minor = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (major != 9 || minor != 0) {
    return "attention_prefill_sm90_ws: needs a compute capability 9.0 GPU (H100/H200), this one is " +
           std::to_string(major) + "." + std::to_string(minor);
  }
  const char* pp = std::getenv("SWAA_SM90_PINGPONG");  // bring-up switch: which variant is faster
  auto kernel = pp != nullptr && pp[0] == '1' ? prefill_sm90_ws_kernel<true> : prefill_sm90_ws_kernel<false>;
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (e != cudaSuccess) return std::string("attention_prefill_sm90_ws: ") + cudaGetErrorString(e);
  const dim3 grid((p.max_seqlen_q + kBM - 1) / kBM, p.num_heads, p.num_seqs);
  kernel<<<grid, kThreads, kSmem, static_cast<cudaStream_t>(stream)>>>(p);
  e = cudaGetLastError();
  if (e != cudaSuccess) return std::string("attention_prefill_sm90_ws: launch failed: ") + cudaGetErrorString(e);
  return "";
}

}  // namespace swaa::cuda
