// Warp-level building blocks of the attention kernels: cp.async, ldmatrix, mma.sync m16n8k16 bf16
// with fp32 accumulation, and the XOR swizzle of shared-memory tiles. Sm80+ instructions; all inline
// PTX. Invariant: tiles in shared memory are rows of kD bf16 split into 16-byte chunks, chunk c of
// row r stored at chunk c ^ (r % 8), so the 8 rows an ldmatrix reads hit 8 different bank groups.
#pragma once

#include <cstdint>
#include <cuda_bf16.h>

namespace swaa::cuda {

constexpr float kLog2e = 1.4426950408889634f;  // exp(x) = exp2(x * kLog2e): softmax in base 2
constexpr float kLn2 = 0.6931471805599453f;    // log(x) = log2(x) * kLn2

// Byte offset of 16-byte chunk `chunk` of row `row` in a swizzled tile with kChunks chunks per row.
template <int kChunks>
__device__ __forceinline__ int swz(int row, int chunk) {
  return (row * kChunks + (chunk ^ (row & 7))) * 16;
}

// Byte offset of 16-byte chunk `chunk` (0..15) of row `row` in a [2][kRows][128 B] tile of rows of
// 128 bf16 (two 64-column halves), chunks XOR-swizzled by row % 8 within each 128-byte half row: the
// hardware's 128-byte swizzle that wgmma descriptors describe (wgmma.cuh; tiles 1024-byte aligned).
template <int kRows>
__device__ __forceinline__ uint32_t sw128_offset(int row, int chunk) {
  return static_cast<uint32_t>((chunk >> 3) * kRows * 128 + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
}

__device__ __forceinline__ uint32_t smem_u32(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte async copy; src_bytes = 0 zero-fills the destination without reading `src`.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t addr, uint32_t& r0, uint32_t& r1, uint32_t& r2,
                                                  uint32_t& r3) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
               : "r"(addr));
}

// c[16x8] += a[16x16] * b[16x8]; fragments as in the PTX ISA (m16n8k16, .row.col).
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm(  // register-only: not volatile, so the scheduler may move it
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ float warp_max4(float x) {  // over the 4 lanes sharing a row of a C fragment
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float warp_sum4(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// One step of the online softmax (base 2) for row half h of a warp's m16 tile: the row's C-fragment
// scores s[n][2h], s[n][2h + 1] (raw, -inf where masked) become exp2(s * scale_log2 - max); row_max
// (raw units) and row_sum are updated and the row's output accumulators o rescaled. Tree reductions:
// a serial chain of 16 dependent fmax/fadd was the top stall (ncu: "fixed latency execution
// dependency", half of all stall cycles).
template <int kN>
__device__ __forceinline__ float tree_max(const float (&part)[kN / 16]) {
  static_assert(kN == 64 || kN == 128, "tiles of 64 or 128 keys");
  const float lo = fmaxf(fmaxf(part[0], part[1]), fmaxf(part[2], part[3]));
  if constexpr (kN == 64) {
    return lo;
  } else {
    return fmaxf(lo, fmaxf(fmaxf(part[4], part[5]), fmaxf(part[6], part[7])));
  }
}
template <int kN>
__device__ __forceinline__ float tree_sum(const float (&part)[kN / 16]) {
  const float lo = (part[0] + part[1]) + (part[2] + part[3]);
  if constexpr (kN == 64) {
    return lo;
  } else {
    return lo + ((part[4] + part[5]) + (part[6] + part[7]));
  }
}

// The exponentiating half of online_softmax_row: the scores become exp2(s * scale_log2 - max), row_max
// and row_sum are updated, and the factor the row's output accumulators must be scaled by is
// returned (kernels whose O is still in flight on the tensor cores apply it later, rescale_row).
template <int kN>
__device__ __forceinline__ float softmax_row_exp(float (&s)[kN / 8][4], int h, float& row_max, float& row_sum,
                                                 float scale_log2) {
  float part[kN / 16];
#pragma unroll
  for (int q = 0; q < kN / 16; ++q) {
    part[q] = fmaxf(fmaxf(s[2 * q][2 * h], s[2 * q][2 * h + 1]), fmaxf(s[2 * q + 1][2 * h], s[2 * q + 1][2 * h + 1]));
  }
  float mx = fmaxf(row_max, tree_max<kN>(part));
  mx = warp_max4(mx);
  const float m_scaled = mx == -INFINITY ? 0.f : mx * scale_log2;
  const float alpha = exp2f(row_max * scale_log2 - m_scaled);
  row_max = mx;
#pragma unroll
  for (int n = 0; n < kN / 8; ++n) {
    s[n][2 * h] = exp2f(fmaf(s[n][2 * h], scale_log2, -m_scaled));
    s[n][2 * h + 1] = exp2f(fmaf(s[n][2 * h + 1], scale_log2, -m_scaled));
  }
#pragma unroll
  for (int q = 0; q < kN / 16; ++q) {
    part[q] = (s[2 * q][2 * h] + s[2 * q][2 * h + 1]) + (s[2 * q + 1][2 * h] + s[2 * q + 1][2 * h + 1]);
  }
  row_sum = fmaf(row_sum, alpha, tree_sum<kN>(part));
  return alpha;
}

template <int kDT>
__device__ __forceinline__ void rescale_row(float (&o)[kDT][4], int h, float alpha) {
#pragma unroll
  for (int d = 0; d < kDT; ++d) {
    o[d][2 * h] *= alpha;
    o[d][2 * h + 1] *= alpha;
  }
}

template <int kN, int kDT>
__device__ __forceinline__ void online_softmax_row(float (&s)[kN / 8][4], int h, float& row_max, float& row_sum,
                                                   float (&o)[kDT][4], float scale_log2) {
  rescale_row<kDT>(o, h, softmax_row_exp<kN>(s, h, row_max, row_sum, scale_log2));
}

// The C fragments of a 16 x kN fp32 tile (kN / 8 m16n8 accumulators) as bf16 A fragments of the same
// tile (kN / 16 m16k16 operands), for an mma that contracts over its kN columns.
template <int kN>
__device__ __forceinline__ void pack_c_to_a(const float (&c)[kN / 8][4], uint32_t (&a)[kN / 16][4]) {
#pragma unroll
  for (int ks = 0; ks < kN / 16; ++ks) {
    a[ks][0] = pack_bf16(c[2 * ks][0], c[2 * ks][1]);
    a[ks][1] = pack_bf16(c[2 * ks][2], c[2 * ks][3]);
    a[ks][2] = pack_bf16(c[2 * ks + 1][0], c[2 * ks + 1][1]);
    a[ks][3] = pack_bf16(c[2 * ks + 1][2], c[2 * ks + 1][3]);
  }
}

// O += P V for kMT m16 row tiles: P as bf16 A fragments (pack_c_to_a), V from a swz tile of kBN keys
// through ldmatrix.trans; v_lane = the tile's address + this lane's row offset, xy the lane's chunk
// swizzle term. Shared by the prefill and training forward kernels.
template <int kMT, int kBN, int kD>
__device__ __forceinline__ void mma_pv(float (&o)[kMT][kD / 8][4], const uint32_t (&pk)[kMT][kBN / 16][4],
                                       uint32_t v_lane, int xy) {
  constexpr int kRowBytes = kD * 2;
#pragma unroll
  for (int ks = 0; ks < kBN / 16; ++ks) {
#pragma unroll
    for (int np = 0; np < kD / 16; ++np) {
      uint32_t b0, b1, b2, b3;
      ldmatrix_x4_trans(v_lane + ks * 16 * kRowBytes + (((np * 2) ^ xy) << 4), b0, b1, b2, b3);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        mma_bf16(o[mt][2 * np], pk[mt][ks], b0, b1);
        mma_bf16(o[mt][2 * np + 1], pk[mt][ks], b2, b3);
      }
    }
  }
}

// Writes row half h of an m16 accumulator tile, normalised by inv, as bf16 at dst + this lane's
// columns ((lane % 4) * 2 + 8 d).
template <int kDT>
__device__ __forceinline__ void store_row_bf16(__nv_bfloat16* dst, const float (&o)[kDT][4], int h, float inv,
                                               int lane) {
  dst += (lane % 4) * 2;
#pragma unroll
  for (int d = 0; d < kDT; ++d) {
    *reinterpret_cast<__nv_bfloat162*>(dst + d * 8) = __floats2bfloat162_rn(o[d][2 * h] * inv, o[d][2 * h + 1] * inv);
  }
}

// The prefill epilogue for row half h of an m16 accumulator tile: normalised by its softmax sum
// (summed over the row's 4 lanes here) and stored as bf16 to query row r of the sequence at q_begin
// of `out` ([tokens][num_heads][kDT * 8]); rows r >= q_len are not written.
template <int kDT>
__device__ __forceinline__ void store_out_row(void* out, int num_heads, int head, int q_begin, int q_len, int r,
                                              const float (&o)[kDT][4], int h, float row_sum, int lane) {
  const float l = warp_sum4(row_sum);
  const float inv = l > 0.f ? 1.f / l : 0.f;
  if (r >= q_len) return;
  const long long row = static_cast<long long>(q_begin + r) * num_heads + head;
  store_row_bf16<kDT>(static_cast<__nv_bfloat16*>(out) + row * kDT * 8, o, h, inv, lane);
}

// Physical cache row of key `key` of a sequence, or -1 when the key is past seqlen_k or in a
// released block (the caller then zero-fills instead of reading). Cache rows fit in int
// (num_blocks * block_size < 2^31).
__device__ __forceinline__ int cache_row(const int* block_table_row, int block_size, int seqlen_k, int key) {
  if (key >= seqlen_k) return -1;
  const int block = block_table_row[key / block_size];
  if (block < 0) return -1;
  return block * block_size + key % block_size;
}

// Gathers a tile of kRows keys of one KV head from the paged K/V caches into two swizzled smem
// tiles, in two phases: `locate` reads the block table (issued a tile ahead, so its latency hides
// under the current tile's math), `issue` starts the 16-byte cp.async copies, which then never wait
// on a dependent load. Thread t copies chunk t % kChunks of rows t / kChunks + i * kRowsPerPass. The
// kChunks threads of a row share its address: lane j of a warp locates the warp's j-th row once and
// `issue` fetches it with a shuffle (16x less index math than every thread locating its rows).
// kSw128: the destination tiles use the 128-byte-swizzle layout of wgmma (sw128_offset; kD = 128)
// instead of swz rows.
template <int kRows, int kD, int kThreads, bool kSw128 = false>
struct PagedTileLoader {
  static constexpr int kChunks = kD / 8;
  static constexpr int kRowsPerPass = kThreads / kChunks;
  static constexpr int kPasses = kRows / kRowsPerPass;
  static constexpr int kWarpRowsPerPass = 32 / kChunks;
  static constexpr int kWarpRows = kPasses * kWarpRowsPerPass;  // rows one warp copies per tile
  static_assert(kThreads % kChunks == 0 && kRows % kRowsPerPass == 0, "tile rows split evenly over threads");
  static_assert(kChunks <= 32 && kWarpRows <= 32, "one lane per row of the warp");
  static_assert(!kSw128 || kD == 128, "the 128-byte-swizzle layout holds rows of 128 bf16");
  int located;  // cache row of the warp's row (lane % kWarpRows); -1 = zero-fill, no read

  // needed(key): may any query of the CTA see `key`? (keys nobody sees are zero-filled, not read)
  template <typename Needed>
  __device__ __forceinline__ void locate(const int* bt_row, int block_size, int seqlen_k, int key0, Needed needed) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int j = lane % kWarpRows;
    const int r = warp * kWarpRowsPerPass + j % kWarpRowsPerPass + (j / kWarpRowsPerPass) * kRowsPerPass;
    const int key = key0 + r;
    located = needed(key) ? cache_row(bt_row, block_size, seqlen_k, key) : -1;
  }
  __device__ __forceinline__ void issue(const __nv_bfloat16* k_cache, const __nv_bfloat16* v_cache, int num_kv_heads,
                                        int kv_head, uint32_t k_smem, uint32_t v_smem) const {
    const int lane = threadIdx.x % 32;
    const int chunk = threadIdx.x % kChunks;
#pragma unroll
    for (int i = 0; i < kPasses; ++i) {
      const int row = __shfl_sync(0xffffffffu, located, i * kWarpRowsPerPass + lane / kChunks);
      const int r = static_cast<int>(threadIdx.x) / kChunks + i * kRowsPerPass;
      const long long off = row < 0 ? 0 : (static_cast<long long>(row) * num_kv_heads + kv_head) * kD + chunk * 8;
      const int bytes = row < 0 ? 0 : 16;
      const uint32_t dst = kSw128 ? sw128_offset<kRows>(r, chunk) : static_cast<uint32_t>(swz<kChunks>(r, chunk));
      cp_async16(k_smem + dst, k_cache + off, bytes);
      cp_async16(v_smem + dst, v_cache + off, bytes);
    }
  }
};

}  // namespace swaa::cuda
