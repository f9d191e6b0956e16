// A single warpgroup running the two matrix products of attention_prefill_sm90 with its exact shared
// memory layout, descriptors and register layouts (see wgmma.cuh), on data the caller gives:
// S = Q K^T (wgmma SS) and O = P V (wgmma RS, V transposed). When the Hopper prefill disagrees with
// the reference, this says whether the descriptors and fragment layouts are the cause.
// Test: tests/kernels/ops_kernel_test.cc (Wgmma.*, label cuda).
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "attention_mma.cuh"
#include "swaa_attention.h"
#include "wgmma.cuh"

namespace swaa::cuda {
namespace {

constexpr int kTile = 128 * 128 * 2;  // bytes of a 128 x 128 bf16 tile

// Stores row-major [rows][128] bf16 from global into the [2][kRows][128 B] swizzled layout.
template <int kRows>
__device__ void stage_tile(const uint16_t* src, int rows, uint32_t dst) {
  for (int i = threadIdx.x; i < rows * 16; i += blockDim.x) {
    const int r = i / 16, chunk = i % 16;
    const uint4 v = reinterpret_cast<const uint4*>(src)[i];
    asm volatile("st.shared.v4.u32 [%0], {%1, %2, %3, %4};\n" ::"r"(dst + sw128_offset<kRows>(r, chunk)), "r"(v.x),
                 "r"(v.y), "r"(v.z), "r"(v.w));
  }
}

// Writes an accumulator set (64 x 128, the warpgroup's C layout) to row-major fp32 [64][128].
__device__ void store_acc(const float (&d)[16][4], float* out) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int j = 0; j < 16; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int row = warp * 16 + lane / 4 + (e / 2) * 8, col = j * 8 + (lane % 4) * 2 + e % 2;
      out[row * 128 + col] = d[j][e];
    }
  }
}

__global__ void wgmma_check_kernel(const uint16_t* q, const uint16_t* k, const uint16_t* p, const uint16_t* v,
                                   float* s_out, float* o_out) {
#if SWAA_WGMMA_AVAILABLE
  extern __shared__ unsigned char smem_raw[];
  const uint32_t q_smem = (smem_u32(smem_raw) + 1023u) & ~1023u, k_smem = q_smem + kTile, v_smem = k_smem + kTile;
  stage_tile<128>(q, 64, q_smem);  // rows 0-63 of a 128-row Q tile: warpgroup 0's rows in the kernel
  stage_tile<128>(k, 128, k_smem);
  stage_tile<128>(v, 128, v_smem);
  fence_proxy_async_smem();
  __syncthreads();

  float s[16][4];
  wgmma_qk_128(s, q_smem, k_smem);  // the prefill kernels' own product code
  wgmma_wait<0>();
  wgmma_hold(s);
  store_acc(s, s_out);

  // P [64][128] bf16 into A fragments (the mma.sync m16k16 layout of this warp's 16 rows).
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int r = warp * 16 + lane / 4, c = (lane % 4) * 2;
  auto pair = [&](int row, int col) { return *reinterpret_cast<const uint32_t*>(p + row * 128 + col); };
  uint32_t pa[8][4];
#pragma unroll
  for (int ks = 0; ks < 8; ++ks) {
    pa[ks][0] = pair(r, ks * 16 + c);
    pa[ks][1] = pair(r + 8, ks * 16 + c);
    pa[ks][2] = pair(r, ks * 16 + 8 + c);
    pa[ks][3] = pair(r + 8, ks * 16 + 8 + c);
  }
  float o[16][4];
#pragma unroll
  for (int j = 0; j < 16; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
  wgmma_pv_128(o, pa, v_smem);
  wgmma_wait<0>();
  wgmma_hold(o);
  store_acc(o, o_out);
#else
  __trap();
#endif
}

}  // namespace

std::string wgmma_check(const uint16_t* q, const uint16_t* k, const uint16_t* p, const uint16_t* v, float* s_out,
                        float* o_out) {
  const int smem = 3 * kTile + 1024;
  cudaError_t e = cudaFuncSetAttribute(wgmma_check_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  if (e == cudaSuccess) {
    wgmma_check_kernel<<<1, 128, smem>>>(q, k, p, v, s_out, o_out);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  return e == cudaSuccess ? std::string() : std::string("wgmma_check: ") + cudaGetErrorString(e);
}

}  // namespace swaa::cuda
