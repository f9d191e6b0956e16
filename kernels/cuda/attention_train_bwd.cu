// SWAA training attention, backward (FlashAttention-2 algorithm) on tensor cores: D = rowsum(dO * O);
// one CTA per (64-key tile, KV head, sequence), 4 warps x 16 keys, recomputes P = exp(S - lse) for
// every query tile that sees its keys and every query head of the group (Q, dO tiles double-buffered
// with cp.async, mma.sync bf16 -> fp32), accumulates dK, dV in registers and adds dQ into an fp32
// workspace with atomics; then dQ -> bf16. P and dS enter the tensor cores as bf16 (as in
// FlashAttention-2). With sink splits (TrainAttentionParams::sink_splits), several CTAs share the
// long walk of each key tile holding sinks and add dK, dV into fp32 accumulators, converted last. Invariant: a CTA walks exactly the query tiles of train_row_spans (prompt rows
// within the window, every row for sink key tiles, answer rows per fa_decode, causal), loading each
// explicitly into the stage it computes from. Tests: tests/kernels/attention_train_test.cc.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "attention_train_tiles.h"
#include "swaa_attention_train.h"

namespace swaa::cuda {
namespace {

constexpr size_t kAlign = 256;
size_t align_up(size_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

// D[head, token] = sum_d dO[token, head, d] * O[token, head, d] in fp32: one warp per (token, head).
template <int kD>
__global__ void __launch_bounds__(256) train_bwd_dot_kernel(const __grid_constant__ TrainAttentionParams p,
                                                            float* dsum) {
  const long long row = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;  // token * H + head
  const int lane = threadIdx.x % 32;
  if (row >= static_cast<long long>(p.num_tokens) * p.num_heads) return;
  const __nv_bfloat16* o = static_cast<const __nv_bfloat16*>(p.out) + row * kD;
  const __nv_bfloat16* d_o = static_cast<const __nv_bfloat16*>(p.dout) + row * kD;
  float acc = 0.f;
#pragma unroll
  for (int d = lane; d < kD; d += 32) acc = fmaf(__bfloat162float(o[d]), __bfloat162float(d_o[d]), acc);
#pragma unroll
  for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
  if (lane == 0) {
    const long long token = row / p.num_heads;
    const int head = static_cast<int>(row % p.num_heads);
    dsum[static_cast<long long>(head) * p.num_tokens + token] = acc;
  }
}

constexpr int kBwdN = 64;   // keys per CTA (4 warps x 16)
constexpr int kBwdM = 64;   // query rows per tile of the walk (train_row_spans' tile)
constexpr int kBwdThreads = 128;

template <int kD>
constexpr int bwd_smem_bytes() {  // K, V; 2 stages of Q, dO; dS^T; 2 stages of lse, D
  return (2 + 4) * kBwdN * kD * 2 + kBwdN * kBwdM * 2 + 2 * 2 * kBwdM * 4;
}

__device__ __forceinline__ void atomic_add2(float* dst, float a, float b) {
#if __CUDA_ARCH__ >= 900
  atomicAdd(reinterpret_cast<float2*>(dst), make_float2(a, b));
#else
  atomicAdd(dst, a);
  atomicAdd(dst + 1, b);
#endif
}

// Warp w owns keys 16w..16w+15 of the CTA: it computes S^T = K Q^T and dP^T = V dO^T for them
// (16 keys x 64 rows, m16n8k16 C fragments: key rows lane / 4 (+ 8), query columns
// 8n + 2 (lane % 4) (+ 1)), P^T and dS^T in place, dV += P^T dO and dK += dS^T Q in registers; dS^T
// goes through shared memory so that warp w then computes dQ of query rows 16w..16w+15 over all 64
// keys and adds it into the fp32 workspace.
template <int kD>
__global__ void __launch_bounds__(kBwdThreads, 2) train_bwd_kernel(const __grid_constant__ TrainAttentionParams p,
                                                                   float* dq_accum, const float* dsum,
                                                                   const SinkSplit split, float* dkv_accum) {
  constexpr int kChunks = kD / 8;
  constexpr int kDT = kD / 8;
  constexpr int kRowBytes = kChunks * 16;
  constexpr int kTileBytes = kBwdN * kD * 2;
  extern __shared__ __align__(128) unsigned char smem[];
  const uint32_t k_s = smem_u32(smem), v_s = k_s + kTileBytes;
  const uint32_t stage0 = v_s + kTileBytes;                 // stage st: Q at + 2st tiles, dO at + (2st + 1)
  const uint32_t ds_s = stage0 + 4 * kTileBytes;            // [64 keys][64 rows] bf16, 8 chunks per row
  float* lse_s = reinterpret_cast<float*>(smem + 6 * kTileBytes + kBwdN * kBwdM * 2);  // [2][64], base 2
  float* dsum_s = lse_s + 2 * kBwdM;                                                  // [2][64]

  const int seq = blockIdx.z, kv_head = blockIdx.y;
  const int begin = p.cu_seqlens[seq];
  const int len = p.cu_seqlens[seq + 1] - begin;
  // blockIdx.x < key_tiles: key tile blockIdx.x (part 0 of its walk when split); beyond: the other
  // parts of the split sink tiles.
  int tile = blockIdx.x, part = 0;
  if (tile >= split.key_tiles) {
    const int e = tile - split.key_tiles;
    tile = e / (split.splits - 1);
    part = 1 + e % (split.splits - 1);
  }
  const bool split_tile = tile < split.sink_tiles;
  const int k0 = tile * kBwdN;
  if (k0 >= len) return;
  const int tile_keys = min(kBwdN, len - k0);
  const int prompt = p.prompt_lens[seq];
  const int group = p.num_heads / p.num_kv_heads;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const long long q_stride = static_cast<long long>(p.num_heads) * kD;
  const long long kv_stride = static_cast<long long>(p.num_kv_heads) * kD;
  const __nv_bfloat16* kg = static_cast<const __nv_bfloat16*>(p.k) + (begin + k0) * kv_stride + kv_head * kD;
  const __nv_bfloat16* vg = static_cast<const __nv_bfloat16*>(p.v) + (begin + k0) * kv_stride + kv_head * kD;
  for (int i = tid; i < kBwdN * kChunks; i += kBwdThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const bool ok = r < tile_keys;
    const long long off = ok ? r * kv_stride + c * 8 : 0;
    cp_async16(k_s + swz<kChunks>(r, c), kg + off, ok ? 16 : 0);
    cp_async16(v_s + swz<kChunks>(r, c), vg + off, ok ? 16 : 0);
  }
  const SpanPair q_tiles = tiles_of(train_row_spans(p, k0, k0 + tile_keys, len, prompt), kBwdM);
  const int nt = q_tiles.size();
  const Span iters = split_tile ? split_span(nt * group, split.splits, part) : make_span(0, nt * group);

  // Stage st <- query tile of iteration it (head kv_head * group + it / nt): Q, dO by cp.async
  // (rows past len zero-filled), lse (base 2; +inf past len, so P = 0 there) and D by plain loads.
  auto issue = [&](int it, int st) {
    const int head = kv_head * group + it / nt;
    const int m0 = q_tiles.at(it % nt) * kBwdM;
    const long long q_off = (begin + m0) * q_stride + head * kD;
    const __nv_bfloat16* qg = static_cast<const __nv_bfloat16*>(p.q) + q_off;
    const __nv_bfloat16* dog = static_cast<const __nv_bfloat16*>(p.dout) + q_off;
    const uint32_t qs = stage0 + st * 2 * kTileBytes, dos = qs + kTileBytes;
    for (int i = tid; i < kBwdM * kChunks; i += kBwdThreads) {
      const int r = i / kChunks, c = i % kChunks;
      const bool ok = m0 + r < len;
      const long long off = ok ? r * q_stride + c * 8 : 0;
      cp_async16(qs + swz<kChunks>(r, c), qg + off, ok ? 16 : 0);
      cp_async16(dos + swz<kChunks>(r, c), dog + off, ok ? 16 : 0);
    }
    if (tid < kBwdM) {
      const bool ok = m0 + tid < len;
      const long long idx = static_cast<long long>(head) * p.num_tokens + begin + m0 + tid;
      lse_s[st * kBwdM + tid] = ok ? p.lse[idx] * kLog2e : INFINITY;
      dsum_s[st * kBwdM + tid] = ok ? dsum[idx] : 0.f;
    }
  };
  if (iters.size() > 0) issue(iters.lo, 0);
  cp_async_commit();

  const int xy = (lane / 16) ^ (lane % 8);
  const int ky = ((lane / 8) % 2) ^ (lane % 8);
  const uint32_t a_lane = (warp * 16 + lane % 16) * kRowBytes;     // this warp's 16 key rows (A operand)
  const uint32_t k_lane_off = ((lane / 16) * 8 + lane % 8) * kRowBytes;  // non-trans B operand
  const uint32_t v_lane_off = (lane % 16) * kRowBytes;                  // trans B operand
  float dk[kDT][4], dv[kDT][4];
#pragma unroll
  for (int i = 0; i < kDT; ++i) dk[i][0] = dk[i][1] = dk[i][2] = dk[i][3] = dv[i][0] = dv[i][1] = dv[i][2] = dv[i][3] = 0.f;
  const float scale_log2 = p.softmax_scale * kLog2e;

  for (int it = iters.lo; it < iters.hi; ++it) {
    const int st = (it - iters.lo) % 2;
    cp_async_wait<0>();
    __syncthreads();  // stage st landed for every thread; every warp is done with iteration it - 1
    if (it + 1 < iters.hi) issue(it + 1, st ^ 1);
    cp_async_commit();
    const int head = kv_head * group + it / nt;
    const int m0 = q_tiles.at(it % nt) * kBwdM;
    const uint32_t q_t = stage0 + st * 2 * kTileBytes, do_t = q_t + kTileBytes;
    const float* lse_t = lse_s + st * kBwdM;
    const float* dsum_t = dsum_s + st * kBwdM;

    float s[kBwdM / 8][4], dp[kBwdM / 8][4];
#pragma unroll
    for (int n = 0; n < kBwdM / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = dp[n][0] = dp[n][1] = dp[n][2] = dp[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      uint32_t ka[4], va[4];
      ldmatrix_x4(k_s + a_lane + (((kk * 2) ^ xy) << 4), ka[0], ka[1], ka[2], ka[3]);
      ldmatrix_x4(v_s + a_lane + (((kk * 2) ^ xy) << 4), va[0], va[1], va[2], va[3]);
#pragma unroll
      for (int np = 0; np < kBwdM / 16; ++np) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4(q_t + k_lane_off + np * 16 * kRowBytes + (((kk * 2) ^ ky) << 4), b0, b1, b2, b3);
        mma_bf16(s[2 * np], ka, b0, b1);
        mma_bf16(s[2 * np + 1], ka, b2, b3);
        ldmatrix_x4(do_t + k_lane_off + np * 16 * kRowBytes + (((kk * 2) ^ ky) << 4), b0, b1, b2, b3);
        mma_bf16(dp[2 * np], va, b0, b1);
        mma_bf16(dp[2 * np + 1], va, b2, b3);
      }
    }

    // P^T = exp(S^T - lse) on visible (row, key) pairs, dS^T = P^T (dP^T - D), in place.
    const AllVisible all = train_all_visible(p, m0, min(kBwdM, len - m0), prompt);
    const bool tile_full = k0 + kBwdN <= all.end && (k0 >= all.window_begin || k0 + kBwdN <= all.sink_end);
#pragma unroll
    for (int n = 0; n < kBwdM / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int c = n * 8 + (lane % 4) * 2 + (e & 1);
        const int key = k0 + warp * 16 + lane / 4 + (e >> 1) * 8;
        const bool vis = tile_full || train_visible(p, m0 + c, key, prompt);
        const float pr = vis ? exp2f(fmaf(s[n][e], scale_log2, -lse_t[c])) : 0.f;
        s[n][e] = pr;
        dp[n][e] = pr * (dp[n][e] - dsum_t[c]);
      }
    }
    uint32_t pa[kBwdM / 16][4], da[kBwdM / 16][4];
    pack_c_to_a<kBwdM>(s, pa);
    pack_c_to_a<kBwdM>(dp, da);
    // dS^T to shared memory for dQ: key row warp * 16 + lane / 4 (+ 8), row pair 8n + 2 (lane % 4).
    {
      unsigned char* ds_base = smem + (ds_s - smem_u32(smem));
#pragma unroll
      for (int ks = 0; ks < kBwdM / 16; ++ks) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {  // da[ks][j]: key half j % 2, column chunk 2 ks + j / 2
          const int kr = warp * 16 + lane / 4 + (j % 2) * 8;
          *reinterpret_cast<uint32_t*>(ds_base + swz<kBwdM / 8>(kr, 2 * ks + j / 2) + (lane % 4) * 4) = da[ks][j];
        }
      }
    }
    // dV += P^T dO, dK += dS^T Q (B operands [rows x d] through ldmatrix.trans).
#pragma unroll
    for (int ks = 0; ks < kBwdM / 16; ++ks) {
#pragma unroll
      for (int np = 0; np < kD / 16; ++np) {
        uint32_t b0, b1, b2, b3;
        ldmatrix_x4_trans(do_t + v_lane_off + ks * 16 * kRowBytes + (((np * 2) ^ xy) << 4), b0, b1, b2, b3);
        mma_bf16(dv[2 * np], pa[ks], b0, b1);
        mma_bf16(dv[2 * np + 1], pa[ks], b2, b3);
        ldmatrix_x4_trans(q_t + v_lane_off + ks * 16 * kRowBytes + (((np * 2) ^ xy) << 4), b0, b1, b2, b3);
        mma_bf16(dk[2 * np], da[ks], b0, b1);
        mma_bf16(dk[2 * np + 1], da[ks], b2, b3);
      }
    }
    __syncthreads();  // dS^T of every warp in shared memory

    // dQ of rows 16 warp .. + 15 = dS K over the CTA's keys (A = dS from dS^T through ldmatrix.trans),
    // half the head dimension at a time, added into the fp32 workspace (other key tiles add theirs).
    float* dq_dst = dq_accum + (begin + m0) * q_stride + head * kD;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float acc[kDT / 2][4];
#pragma unroll
      for (int i = 0; i < kDT / 2; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.f;
#pragma unroll
      for (int ks = 0; ks < kBwdN / 16; ++ks) {
        uint32_t a[4];
        ldmatrix_x4_trans(ds_s + swz<kBwdM / 8>(ks * 16 + (lane / 16) * 8 + lane % 8, warp * 2 + (lane / 8) % 2),
                          a[0], a[1], a[2], a[3]);
#pragma unroll
        for (int np = 0; np < kD / 32; ++np) {
          const int npg = half * (kD / 32) + np;
          uint32_t b0, b1, b2, b3;
          ldmatrix_x4_trans(k_s + v_lane_off + ks * 16 * kRowBytes + (((npg * 2) ^ xy) << 4), b0, b1, b2, b3);
          mma_bf16(acc[2 * np], a, b0, b1);
          mma_bf16(acc[2 * np + 1], a, b2, b3);
        }
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = warp * 16 + lane / 4 + h * 8;
        if (m0 + r >= len) continue;
#pragma unroll
        for (int i = 0; i < kDT / 2; ++i) {
          const int col = (half * (kDT / 2) + i) * 8 + (lane % 4) * 2;
          atomic_add2(dq_dst + r * q_stride + col, acc[i][2 * h] * p.softmax_scale, acc[i][2 * h + 1] * p.softmax_scale);
        }
      }
    }
  }
  cp_async_wait<0>();

  if (split_tile) {  // one part of the walk: add into the fp32 accumulators (converted afterwards)
    const int sink_rows = split.sink_tiles * kBwdN;
    float* dk_acc = dkv_accum + ((static_cast<long long>(seq) * sink_rows + k0) * p.num_kv_heads + kv_head) * kD;
    float* dv_acc = dk_acc + static_cast<long long>(p.num_seqs) * sink_rows * p.num_kv_heads * kD;
    const long long row_stride = static_cast<long long>(p.num_kv_heads) * kD;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int key = warp * 16 + lane / 4 + h * 8;
      if (key >= tile_keys || iters.size() == 0) continue;
#pragma unroll
      for (int i = 0; i < kDT; ++i) {
        const int col = i * 8 + (lane % 4) * 2;
        atomic_add2(dk_acc + key * row_stride + col, dk[i][2 * h] * p.softmax_scale, dk[i][2 * h + 1] * p.softmax_scale);
        atomic_add2(dv_acc + key * row_stride + col, dv[i][2 * h], dv[i][2 * h + 1]);
      }
    }
    return;
  }
  // Every key sees at least its own row, so every key of the tile gets its gradient here.
  const long long out_off = (begin + k0) * kv_stride + kv_head * kD;
  __nv_bfloat16* dk_out = static_cast<__nv_bfloat16*>(p.dk) + out_off;
  __nv_bfloat16* dv_out = static_cast<__nv_bfloat16*>(p.dv) + out_off;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int key = warp * 16 + lane / 4 + h * 8;
    if (key >= tile_keys) continue;
#pragma unroll
    for (int i = 0; i < kDT; ++i) {
      const int col = i * 8 + (lane % 4) * 2;
      *reinterpret_cast<__nv_bfloat162*>(dk_out + key * kv_stride + col) =
          __floats2bfloat162_rn(dk[i][2 * h] * p.softmax_scale, dk[i][2 * h + 1] * p.softmax_scale);
      *reinterpret_cast<__nv_bfloat162*>(dv_out + key * kv_stride + col) = __floats2bfloat162_rn(dv[i][2 * h], dv[i][2 * h + 1]);
    }
  }
}

__global__ void __launch_bounds__(256) f32_to_bf16_kernel(const float* in, __nv_bfloat16* out, long long n) {
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    out[i] = __float2bfloat16_rn(in[i]);
  }
}

// dK, dV of the split sink tiles: fp32 accumulators [seq][sink row][kv head][d] -> bf16 rows of each
// sequence (rows past the sequence's length are skipped).
__global__ void __launch_bounds__(256) sink_dkv_to_bf16_kernel(const __grid_constant__ TrainAttentionParams p,
                                                              const float* dkv_accum, int sink_rows) {
  const long long per_seq = static_cast<long long>(sink_rows) * p.num_kv_heads * p.head_dim;
  const long long n = per_seq * p.num_seqs;
  const long long dv_off = n;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int seq = static_cast<int>(i / per_seq);
    const long long in_seq = i % per_seq;
    const int row = static_cast<int>(in_seq / (static_cast<long long>(p.num_kv_heads) * p.head_dim));
    const int begin = p.cu_seqlens[seq];
    if (row >= p.cu_seqlens[seq + 1] - begin) continue;
    const long long dst = static_cast<long long>(begin) * p.num_kv_heads * p.head_dim + in_seq;
    static_cast<__nv_bfloat16*>(p.dk)[dst] = __float2bfloat16_rn(dkv_accum[i]);
    static_cast<__nv_bfloat16*>(p.dv)[dst] = __float2bfloat16_rn(dkv_accum[dv_off + i]);
  }
}

std::string cuda_error(const char* what) {
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? "" : std::string("attention_train_backward: ") + what + ": " + cudaGetErrorString(err);
}

// fp32 dK + dV accumulators of the split sink tiles, in elements (0 without a split).
long long sink_accum_elems(const TrainAttentionParams& p) {
  const SinkSplit split = train_sink_split(p, kBwdN);
  if (split.splits <= 1 || p.num_tokens <= 0) return 0;
  return 2LL * p.num_seqs * split.sink_tiles * kBwdN * p.num_kv_heads * p.head_dim;
}

template <int kD>
std::string launch_bwd(const TrainAttentionParams& p, float* dq_accum, float* dsum, float* dkv_accum,
                       cudaStream_t stream) {
  const long long rows = static_cast<long long>(p.num_tokens) * p.num_heads;
  cudaError_t err = cudaMemsetAsync(dq_accum, 0, rows * kD * sizeof(float), stream);
  if (err != cudaSuccess) return std::string("attention_train_backward: memset: ") + cudaGetErrorString(err);
  const SinkSplit split = train_sink_split(p, kBwdN);
  const long long accum = sink_accum_elems(p);
  if (accum > 0) {
    err = cudaMemsetAsync(dkv_accum, 0, accum * sizeof(float), stream);
    if (err != cudaSuccess) return std::string("attention_train_backward: memset: ") + cudaGetErrorString(err);
  }
  train_bwd_dot_kernel<kD><<<static_cast<unsigned>((rows * 32 + 255) / 256), 256, 0, stream>>>(p, dsum);
  std::string msg = cuda_error("dO.O kernel");
  if (!msg.empty()) return msg;

  constexpr int kSmem = bwd_smem_bytes<kD>();
  err = cudaFuncSetAttribute(train_bwd_kernel<kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
  if (err != cudaSuccess) return std::string("attention_train_backward: ") + cudaGetErrorString(err);
  const dim3 grid(split.key_tiles + split.sink_tiles * (split.splits - 1), p.num_kv_heads, p.num_seqs);
  train_bwd_kernel<kD><<<grid, kBwdThreads, kSmem, stream>>>(p, dq_accum, dsum, split, dkv_accum);
  msg = cuda_error("main kernel");
  if (!msg.empty()) return msg;
  if (accum > 0) {
    const unsigned blocks = static_cast<unsigned>(std::min<long long>((accum / 2 + 255) / 256, 65536));
    sink_dkv_to_bf16_kernel<<<blocks, 256, 0, stream>>>(p, dkv_accum, split.sink_tiles * kBwdN);
    msg = cuda_error("sink dK/dV conversion");
    if (!msg.empty()) return msg;
  }

  // Grid-stride conversion, at most 65536 CTAs x 256 threads (16M threads is far beyond what
  // saturates memory bandwidth on a 132-SM GPU).
  const long long n = rows * kD;
  const unsigned blocks = static_cast<unsigned>(std::min<long long>((n + 255) / 256, 65536));
  f32_to_bf16_kernel<<<blocks, 256, 0, stream>>>(dq_accum, static_cast<__nv_bfloat16*>(p.dq), n);
  return cuda_error("dQ conversion");
}

}  // namespace

size_t train_backward_workspace_bytes(const TrainAttentionParams& p) {
  const size_t rows = static_cast<size_t>(p.num_tokens < 0 ? 0 : p.num_tokens) * (p.num_heads < 0 ? 0 : p.num_heads);
  return align_up(rows * (p.head_dim < 0 ? 0 : p.head_dim) * sizeof(float)) + align_up(rows * sizeof(float)) +
         align_up(static_cast<size_t>(sink_accum_elems(p)) * sizeof(float));
}

std::string attention_train_backward(const TrainAttentionParams& p, void* workspace, void* stream) {
  const std::string err = validate_train_attention_params(p, true);
  if (!err.empty()) return "attention_train_backward: " + err;
  if (p.num_tokens == 0) return "";
  if (workspace == nullptr) return "attention_train_backward: workspace is null";
  if (reinterpret_cast<uintptr_t>(workspace) % kAlign != 0) {
    return "attention_train_backward: workspace must be 256-byte aligned";
  }
  const size_t rows = static_cast<size_t>(p.num_tokens) * p.num_heads;
  auto* dq_accum = static_cast<float*>(workspace);
  auto* dsum = reinterpret_cast<float*>(static_cast<char*>(workspace) + align_up(rows * p.head_dim * 4));
  auto* dkv_accum = reinterpret_cast<float*>(reinterpret_cast<char*>(dsum) + align_up(rows * 4));
  const auto s = static_cast<cudaStream_t>(stream);
  return p.head_dim == 64 ? launch_bwd<64>(p, dq_accum, dsum, dkv_accum, s)
                          : launch_bwd<128>(p, dq_accum, dsum, dkv_accum, s);
}

}  // namespace swaa::cuda
