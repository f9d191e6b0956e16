// SWAA decode attention, split-KV: one CTA per (split, KV head, token) computes all query heads of
// the KV head at once (rows of one m16 mma tile), so each KV byte is read once per token. The token's
// visible key tiles (sinks ∪ window, or everything) are divided among the splits; a combine kernel
// merges the splits by their log-sum-exp. Invariant: each tile is loaded explicitly into the stage it
// is computed from, keys outside the token's visible set are zero-filled, never read.
// Tests: tests/kernels/attention_kernel_test.cc.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "attention_mask.cuh"
#include "attention_mma.cuh"
#include "swaa_attention.h"

namespace swaa::cuda {
namespace {

constexpr int kBN = 64;  // keys per tile; warp w computes keys [16w, 16w + 16) of each tile
constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kStages = 3;  // 2 tiles in flight while one is computed

template <int kD>
constexpr int decode_smem_bytes() {
  return kStages * 2 * kBN * kD * 2;  // also holds the warps' partial O (4 x 16 x kD fp32) at the end
}
static_assert(decode_smem_bytes<64>() >= kWarps * 16 * 64 * 4 + 2 * kWarps * 16 * 4, "combine scratch fits");

// Writes, per query row of the group: out (bf16, when num_splits == 1) or the split's normalised O
// (fp32) and its log2-sum-exp to the workspace.
template <int kD>
__global__ void __launch_bounds__(kThreads) decode_kernel(const __grid_constant__ AttentionParams p, int num_splits,
                                                          float* o_part, float* lse_part) {
  constexpr int kChunks = kD / 8;
  constexpr int kDT = kD / 8;
  constexpr int kTileBytes = kBN * kD * 2;
  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ __align__(16) __nv_bfloat16 q_tile[16 * kD];
  const uint32_t kv_smem = smem_u32(smem);

  const int split = blockIdx.x, kv_head = blockIdx.y, token = blockIdx.z;
  const int group = p.num_heads / p.num_kv_heads;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  // seq = last s with cu_seqlens_q[s] <= token. Every load of the prologue is a DRAM round trip in
  // front of the first key tile, so the independent ones are issued together: the token's position
  // and phase, and the guess of one query token per sequence (seq = token, checked by
  // cu_seqlens_q[token] and [token + 1]); a binary search only when the guess is wrong.
  const int guess = min(token, p.num_seqs - 1);
  const int pos = p.positions[token];
  const bool generated = p.generated[token] != 0;
  const int guess_begin = p.cu_seqlens_q[guess], guess_end = p.cu_seqlens_q[guess + 1];
  int seq = guess;
  if (guess_begin > token || guess_end <= token) {
    int lo = 0, hi = p.num_seqs;
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (p.cu_seqlens_q[mid] <= token) lo = mid;
      else hi = mid;
    }
    seq = lo;
  }
  const int seqlen_k = p.seqlen_k[seq];
  const int* bt_row = p.block_table + static_cast<long long>(seq) * p.max_blocks;
  const RowRange range = row_range(p, pos, generated);
  const TileList tiles = make_tile_list<kBN>(range.sink_end, range.window_begin, range.end);
  const int per_split = (tiles.size() + num_splits - 1) / num_splits;
  const int t_begin = min(tiles.size(), split * per_split), t_end = min(tiles.size(), t_begin + per_split);
  const int num_tiles = t_end - t_begin;

  // Q rows of the group (rows >= group zero).
  {
    const __nv_bfloat16* q = static_cast<const __nv_bfloat16*>(p.q);
    const uint32_t q_smem = smem_u32(q_tile);
    for (int i = tid; i < 16 * kChunks; i += kThreads) {
      const int r = i / kChunks, c = i % kChunks;
      const bool valid = r < group;
      const long long off = valid ? (static_cast<long long>(token) * p.num_heads + kv_head * group + r) * kD + c * 8 : 0;
      cp_async16(q_smem + swz<kChunks>(r, c), q + off, valid ? 16 : 0);
    }
    cp_async_commit();
  }
  const __nv_bfloat16* k_cache = static_cast<const __nv_bfloat16*>(p.k_cache);
  const __nv_bfloat16* v_cache = static_cast<const __nv_bfloat16*>(p.v_cache);
  auto visible = [&](int key) { return key_visible(range, key); };
  PagedTileLoader<kBN, kD, kThreads> loader;
#pragma unroll
  for (int st = 0; st < kStages - 1; ++st) {
    if (st < num_tiles) {
      loader.locate(bt_row, p.block_size, seqlen_k, tiles.tile(t_begin + st) * kBN, visible);
      const uint32_t k = kv_smem + st * 2 * kTileBytes;
      loader.issue(k_cache, v_cache, p.num_kv_heads, kv_head, k, k + kTileBytes);
    }
    cp_async_commit();
  }

  // ldmatrix lane addresses: lane base + compile-time offsets (see attention_prefill.cu).
  constexpr int kRowBytes = kChunks * 16;
  const int xy = (lane / 16) ^ (lane % 8);       // Q and V
  const int ky = ((lane / 8) % 2) ^ (lane % 8);  // K
  const uint32_t k_lane_off = (warp * 16 + (lane / 16) * 8 + lane % 8) * kRowBytes;
  const uint32_t v_lane_off = (warp * 16 + lane % 16) * kRowBytes;
  uint32_t q_frag[kD / 16][4];
  cp_async_wait<kStages - 1>();
  __syncthreads();
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    ldmatrix_x4(smem_u32(q_tile) + (lane % 16) * kRowBytes + (((kk * 2) ^ xy) << 4), q_frag[kk][0], q_frag[kk][1],
                q_frag[kk][2], q_frag[kk][3]);
  }

  float o[kDT][4];
#pragma unroll
  for (int i = 0; i < kDT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  const float scale_log2 = p.softmax_scale * kLog2e;

  for (int i = 0; i < num_tiles; ++i) {
    const int ahead = i + kStages - 1;  // the tile this iteration starts loading
    if (ahead < num_tiles) loader.locate(bt_row, p.block_size, seqlen_k, tiles.tile(t_begin + ahead) * kBN, visible);
    cp_async_wait<kStages - 2>();
    __syncthreads();  // tile i landed for every thread; every warp is done with tile i - 1
    if (ahead < num_tiles) {  // its stage was last read in iteration i - 1
      const uint32_t k = kv_smem + (ahead % kStages) * 2 * kTileBytes;
      loader.issue(k_cache, v_cache, p.num_kv_heads, kv_head, k, k + kTileBytes);
    }
    cp_async_commit();
    const uint32_t k_tile = kv_smem + (i % kStages) * 2 * kTileBytes, v_tile = k_tile + kTileBytes;
    const int k0 = tiles.tile(t_begin + i) * kBN + warp * 16;  // this warp's 16 keys

    float s[2][4] = {};
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      uint32_t b0, b1, b2, b3;
      ldmatrix_x4(k_tile + k_lane_off + (((kk * 2) ^ ky) << 4), b0, b1, b2, b3);
      mma_bf16(s[0], q_frag[kk], b0, b1);
      mma_bf16(s[1], q_frag[kk], b2, b3);
    }
    const bool full = k0 + 16 <= range.end && (k0 >= range.window_begin || k0 + 16 <= range.sink_end);
    if (!full) {
#pragma unroll
      for (int n = 0; n < 2; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          if (!key_visible(range, k0 + n * 8 + (lane % 4) * 2 + (e & 1))) s[n][e] = -INFINITY;
        }
      }
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      float mx = fmaxf(row_max[h], fmaxf(fmaxf(s[0][2 * h], s[0][2 * h + 1]), fmaxf(s[1][2 * h], s[1][2 * h + 1])));
      mx = warp_max4(mx);
      const float m_scaled = mx == -INFINITY ? 0.f : mx * scale_log2;
      const float alpha = exp2f(row_max[h] * scale_log2 - m_scaled);
      row_max[h] = mx;
      float sum = 0.f;
#pragma unroll
      for (int n = 0; n < 2; ++n) {
        s[n][2 * h] = exp2f(fmaf(s[n][2 * h], scale_log2, -m_scaled));
        s[n][2 * h + 1] = exp2f(fmaf(s[n][2 * h + 1], scale_log2, -m_scaled));
        sum += s[n][2 * h] + s[n][2 * h + 1];
      }
      row_sum[h] = row_sum[h] * alpha + sum;
#pragma unroll
      for (int d = 0; d < kDT; ++d) {
        o[d][2 * h] *= alpha;
        o[d][2 * h + 1] *= alpha;
      }
    }
    const uint32_t a[4] = {pack_bf16(s[0][0], s[0][1]), pack_bf16(s[0][2], s[0][3]), pack_bf16(s[1][0], s[1][1]),
                           pack_bf16(s[1][2], s[1][3])};
#pragma unroll
    for (int np = 0; np < kD / 16; ++np) {
      uint32_t b0, b1, b2, b3;
      ldmatrix_x4_trans(v_tile + v_lane_off + (((np * 2) ^ xy) << 4), b0, b1, b2, b3);
      mma_bf16(o[2 * np], a, b0, b1);
      mma_bf16(o[2 * np + 1], a, b2, b3);
    }
  }
  cp_async_wait<0>();
  __syncthreads();  // the stages are free: reuse them for the cross-warp merge

  // Per warp: m (scaled, base 2), l, O for 16 rows.
  float* s_o = reinterpret_cast<float*>(smem);         // [kWarps][16][kD]
  float* s_m = s_o + kWarps * 16 * kD;                 // [kWarps][16]
  float* s_l = s_m + kWarps * 16;                      // [kWarps][16]
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = lane / 4 + h * 8;
    const float l = warp_sum4(row_sum[h]);
    if (lane % 4 == 0) {
      s_m[warp * 16 + r] = row_max[h] == -INFINITY ? -INFINITY : row_max[h] * scale_log2;
      s_l[warp * 16 + r] = l;
    }
#pragma unroll
    for (int d = 0; d < kDT; ++d) {
      float* dst = s_o + (warp * 16 + r) * kD + d * 8 + (lane % 4) * 2;
      dst[0] = o[d][2 * h];
      dst[1] = o[d][2 * h + 1];
    }
  }
  __syncthreads();
  for (int i = tid; i < group * kD; i += kThreads) {
    const int r = i / kD, d = i % kD;
    float m = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) m = fmaxf(m, s_m[w * 16 + r]);
    float l = 0.f, acc = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float f = s_m[w * 16 + r] == -INFINITY ? 0.f : exp2f(s_m[w * 16 + r] - m);
      l += f * s_l[w * 16 + r];
      acc += f * s_o[(w * 16 + r) * kD + d];
    }
    const float val = l > 0.f ? acc / l : 0.f;
    const int head = kv_head * group + r;
    if (num_splits == 1) {
      static_cast<__nv_bfloat16*>(p.out)[(static_cast<long long>(token) * p.num_heads + head) * kD + d] =
          __float2bfloat16_rn(val);
    } else {
      const long long row = (static_cast<long long>(split) * p.num_tokens + token) * p.num_heads + head;
      o_part[row * kD + d] = val;
      if (d == 0) lse_part[row] = l > 0.f ? m + log2f(l) : -INFINITY;
    }
  }
}

// One CTA per (token, head): out = sum_s 2^(lse_s - max) O_s / sum_s 2^(lse_s - max). The split
// outputs are loaded kChunk at a time (independent loads in flight together), the first chunk before
// the weights are known: a combine of up to kChunk splits waits for one round trip to memory.
constexpr int kChunk = 8;
template <int kD>
__global__ void __launch_bounds__(kD) combine_kernel(const __grid_constant__ AttentionParams p, int num_splits,
                                                     const float* o_part, const float* lse_part) {
  __shared__ float s_w[kDecodeMaxSplits];
  __shared__ float s_inv;
  const int token = blockIdx.x, head = blockIdx.y, d = threadIdx.x;
  const long long row = static_cast<long long>(token) * p.num_heads + head;
  const long long split_stride = static_cast<long long>(p.num_tokens) * p.num_heads;
  float o[kChunk];
  auto load_chunk = [&](int s0) {
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      o[j] = s0 + j < num_splits ? o_part[((s0 + j) * split_stride + row) * kD + d] : 0.f;
    }
  };
  load_chunk(0);
  if (d < 32) {
    float m = -INFINITY;
    for (int s = d; s < num_splits; s += 32) m = fmaxf(m, lse_part[s * split_stride + row]);
#pragma unroll
    for (int off = 16; off > 0; off /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, off));
    float sum = 0.f;
    for (int s = d; s < num_splits; s += 32) {
      const float lse = lse_part[s * split_stride + row];
      s_w[s] = lse == -INFINITY ? 0.f : exp2f(lse - m);
      sum += s_w[s];
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (d == 0) s_inv = sum > 0.f ? 1.f / sum : 0.f;
  }
  __syncthreads();
  float acc = 0.f;
  for (int s0 = 0; s0 < num_splits; s0 += kChunk) {
    if (s0 > 0) load_chunk(s0);
#pragma unroll
    for (int j = 0; j < kChunk; ++j) {
      if (s0 + j < num_splits && s_w[s0 + j] != 0.f) acc += s_w[s0 + j] * o[j];
    }
  }
  static_cast<__nv_bfloat16*>(p.out)[row * kD + d] = __float2bfloat16_rn(acc * s_inv);
}

template <int kD>
std::string launch_decode(const AttentionParams& p, int num_splits, void* workspace, cudaStream_t stream) {
  constexpr int smem = decode_smem_bytes<kD>();
  cudaError_t err = cudaFuncSetAttribute(decode_kernel<kD>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (err != cudaSuccess) return std::string("attention_decode: ") + cudaGetErrorString(err);
  float* o_part = static_cast<float*>(workspace);
  float* lse_part = num_splits > 1 ? o_part + static_cast<size_t>(num_splits) * p.num_tokens * p.num_heads * kD : nullptr;
  decode_kernel<kD><<<dim3(num_splits, p.num_kv_heads, p.num_tokens), kThreads, smem, stream>>>(p, num_splits, o_part,
                                                                                                  lse_part);
  err = cudaGetLastError();
  if (err != cudaSuccess) return std::string("attention_decode: launch failed: ") + cudaGetErrorString(err);
  if (num_splits > 1) {
    combine_kernel<kD><<<dim3(p.num_tokens, p.num_heads), kD, 0, stream>>>(p, num_splits, o_part, lse_part);
    err = cudaGetLastError();
    if (err != cudaSuccess) return std::string("attention_decode: combine launch failed: ") + cudaGetErrorString(err);
  }
  return "";
}

}  // namespace

// Splits: the decode grid has num_tokens * num_kv_heads * splits CTAs of equal work (for equal
// lengths); 2 CTAs fit per SM (3 stages x 32 KiB of K/V at D=128), so 2 * num_sms run at once.
// Pick the split count whose last wave is fullest (batch 8 x 8 KV heads on 132 SMs: 4 splits =
// 256 of 264 slots, 97%), among those leaving each split >= 8 tiles (512 keys) so the 3-stage
// pipeline's fill (2 tiles) stays under 25% of a split; near-ties (within 5%) go to fewer splits,
// which cost less in the combine. Where 8 tiles per split leave most slots empty, splits go down
// to 4 tiles: batch 1 with W = 2048 (34 tiles, 8 KV heads) takes 7 splits instead of 4, 15.3 us
// against 17.6 (`attention_bench --decode`, H200, 2026-12-03); batch 1 at 8k full attention
// (31 instead of 16) is level, 24.5 against 24.1 us.
int decode_num_splits(const AttentionParams& p, int num_sms) {
  const int items = std::max(1, p.num_tokens * p.num_kv_heads);
  long long keys = p.max_seqlen_k;
  if (p.sliding && !p.fa_decode) keys = std::min<long long>(keys, static_cast<long long>(p.window) + p.keep_first);
  const int tiles = static_cast<int>((keys + kBN - 1) / kBN);
  const long long slots = 2LL * std::max(1, num_sms);
  const int min_tiles = static_cast<long long>(items) * (tiles / 8) < slots ? 4 : 8;
  const int max_splits = std::clamp(tiles / min_tiles, 1, kDecodeMaxSplits);
  auto efficiency = [&](int s) {
    const long long ctas = static_cast<long long>(items) * s;
    const long long waves = (ctas + slots - 1) / slots;
    return static_cast<double>(ctas) / static_cast<double>(waves * slots);
  };
  double best = 0;
  for (int s = 1; s <= max_splits; ++s) best = std::max(best, efficiency(s));
  for (int s = 1; s <= max_splits; ++s) {
    if (efficiency(s) >= best - 0.05) return s;
  }
  return 1;
}

size_t decode_workspace_bytes(const AttentionParams& p, int num_splits) {
  if (num_splits <= 1) return 0;
  const size_t rows = static_cast<size_t>(num_splits) * p.num_tokens * p.num_heads;
  return rows * (static_cast<size_t>(p.head_dim) + 1) * sizeof(float);
}

std::string attention_decode(const AttentionParams& p, int num_splits, void* workspace, void* stream) {
  std::string err = validate_attention_params(p);
  if (!err.empty()) return "attention_decode: " + err;
  if (p.num_heads / p.num_kv_heads > kDecodeMaxGroup) {
    return "attention_decode: num_heads / num_kv_heads must be <= " + std::to_string(kDecodeMaxGroup) + ", got " +
           std::to_string(p.num_heads / p.num_kv_heads);
  }
  if (num_splits < 1 || num_splits > kDecodeMaxSplits) {
    return "attention_decode: num_splits must be in [1, " + std::to_string(kDecodeMaxSplits) + "], got " +
           std::to_string(num_splits);
  }
  if (p.num_tokens > 65535) {
    return "attention_decode: num_tokens must be <= 65535 (grid z), got " + std::to_string(p.num_tokens);
  }
  if (num_splits > 1 && workspace == nullptr) {
    return "attention_decode: num_splits = " + std::to_string(num_splits) + " needs a workspace of " +
           std::to_string(decode_workspace_bytes(p, num_splits)) + " bytes";
  }
  if (p.num_tokens == 0) return "";
  const auto s = static_cast<cudaStream_t>(stream);
  return p.head_dim == 64 ? launch_decode<64>(p, num_splits, workspace, s)
                          : launch_decode<128>(p, num_splits, workspace, s);
}

}  // namespace swaa::cuda
