// Hopper (sm_90a) warpgroup MMA building blocks for the attention kernels: shared-memory matrix
// descriptors for 128-byte-swizzled tiles, wgmma m64n128k16 bf16 -> fp32 with A from shared memory
// or registers, and the fence / commit / wait that order them. Inline PTX, valid only in code
// compiled for sm_90a (callers guard with SWAA_WGMMA_AVAILABLE).
//
// Tile layout (what the descriptors describe): a tile of R rows x 128 bf16 is two column halves of
// 64 bf16 (128 bytes) each, stored one after the other ([half][row][128 B]); within a half, 16-byte
// chunk c of row r sits at chunk c ^ (r % 8): the hardware's 128-byte swizzle, which keys on address
// bits 7-9, so every tile starts 1024-byte aligned.
#pragma once

#include <cstdint>

#include "attention_mma.cuh"  // sw128_offset: the byte layout the descriptors below describe

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define SWAA_WGMMA_AVAILABLE 1
#else
#define SWAA_WGMMA_AVAILABLE 0
#endif

namespace swaa::cuda {

// Matrix descriptor (PTX ISA, "Matrix Descriptor Format"): start address, leading and stride byte
// offsets (all >> 4), 128-byte swizzle (mode 1 in bits 62-63). K-major operands: LBO unused (1),
// SBO = 1024 (8 rows of 128 B). MN-major (transposed) operands: LBO = the distance between the two
// 64-column halves, SBO = 1024 (8 rows of the K dimension).
__device__ __forceinline__ uint64_t sw128_desc(uint32_t smem_addr, uint32_t lbo_bytes, uint32_t sbo_bytes) {
  return static_cast<uint64_t>((smem_addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>((lbo_bytes >> 4) & 0x3FFF) << 16) |
         (static_cast<uint64_t>((sbo_bytes >> 4) & 0x3FFF) << 32) | (1ull << 62);
}

#if SWAA_WGMMA_AVAILABLE
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}
// Makes this thread's generic-proxy shared-memory writes (cp.async, st.shared) visible to the async
// proxy that wgmma reads through; then a barrier.
__device__ __forceinline__ void fence_proxy_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// Keeps the accumulators' registers from being read or moved across an in-flight wgmma.
__device__ __forceinline__ void wgmma_hold(float (&d)[16][4]) {
#pragma unroll
  for (int j = 0; j < 16; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(d[j][e])::"memory");
  }
}

// The 64 fp32 accumulators of a m64n128 wgmma (this thread's share, d[16][4] in the mma.sync C
// layout per n8 block) as asm operands %0..%63, and their register list.
#define SWAA_WGMMA_D_REGS                                                                \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "               \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "     \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "     \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define SWAA_WGMMA_D_OPERANDS(d) \
  "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), \
  "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), \
  "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), \
  "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), \
  "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), \
  "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), \
  "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), \
  "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), \
  "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), \
  "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), \
  "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), \
  "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), \
  "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), \
  "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), \
  "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), \
  "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])

// d[64 x 128] (+)= A[64 x 16] * B[16 x 128]; A and B in shared memory (descriptors), both K-major.
// scale_d = 0 overwrites d (first k-step), 1 accumulates.
__device__ __forceinline__ void wgmma_m64n128k16_ss(float (&d)[16][4], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      SWAA_WGMMA_D_REGS "}, "
      "%64, %65, p, 1, 1, 0, 0;\n"
      "}\n"
      : SWAA_WGMMA_D_OPERANDS(d)
      : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}

// d[64 x 128] += A[64 x 16] * B[16 x 128]; A in registers (this warp's 16 rows, the mma.sync m16k16
// A-fragment layout), B in shared memory MN-major (transposed: its 128 columns contiguous).
__device__ __forceinline__ void wgmma_m64n128k16_rs_tb(float (&d)[16][4], const uint32_t (&a)[4], uint64_t desc_b) {
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "setp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      SWAA_WGMMA_D_REGS "}, "
      "{%64, %65, %66, %67}, %68, p, 1, 1, 1;\n"
      "}\n"
      : SWAA_WGMMA_D_OPERANDS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b));
}
__device__ __forceinline__ void wgmma_hold_a(uint32_t (&a)[8][4]) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(a[j][e])::"memory");
  }
}

// The attention prefill's two products for one warpgroup, issued and committed (the caller waits):
// S[64 x 128 keys] = Q K^T over head dim 128 (q_wg: the warpgroup's 64 rows in a [2][128][128 B]
// Q tile; k_tile: a [2][128][128 B] K tile), 8 k-steps of 16 columns, 4 per 64-column half.
__device__ __forceinline__ void wgmma_qk_128(float (&s)[16][4], uint32_t q_wg, uint32_t k_tile) {
  wgmma_hold(s);  // as CUTLASS's fence_operand: pin the accumulators around the async MMAs
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < 8; ++kk) {
    const uint32_t col = (kk / 4) * 128 * 128 + (kk % 4) * 32;
    wgmma_m64n128k16_ss(s, sw128_desc(q_wg + col, 16, 1024), sw128_desc(k_tile + col, 16, 1024), kk > 0 ? 1 : 0);
  }
  wgmma_commit();
}
// O[64 x 128] += P V: P's bf16 A fragments from registers (pack_c_to_a of S), V from a [2][128 keys]
// [128 B] tile read transposed (16 keys = 2048 bytes per k-step; the halves 128 * 128 B apart).
__device__ __forceinline__ void wgmma_pv_128(float (&o)[16][4], uint32_t (&pk)[8][4], uint32_t v_tile) {
  wgmma_hold(o);
  wgmma_hold_a(pk);
  wgmma_fence();
#pragma unroll
  for (int ks = 0; ks < 8; ++ks) wgmma_m64n128k16_rs_tb(o, pk[ks], sw128_desc(v_tile + ks * 16 * 128, 128 * 128, 1024));
  wgmma_commit();
}
#endif  // SWAA_WGMMA_AVAILABLE

}  // namespace swaa::cuda
