// Decode-batch GEMMs of Qwen3-4B (the projections of one layer and the lm_head, 8..64 rows) on
// cuBLAS: cublasGemmEx with CUBLAS_GEMM_DEFAULT (what the CUDA backend calls past the skinny
// kernels' row limits) next to cublasLt's heuristic choice and the fastest of the algorithms its
// heuristic offers (up to 32, each timed), to see what tuning the algorithm per shape would buy.
// bf16 in, fp32 compute, bf16 out (fp32 for the lm_head), as the backend. CUDA events, L2 flushed
// by a 512 MB read before every timed launch, median of 15. GB/s = weight bytes / time. One JSON
// object per line, then a table. Usage: gemm_lt_sweep [--quick]
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bench_cuda.h"

namespace {

#define CHECK_BLAS(expr)                                                              \
  do {                                                                                \
    const cublasStatus_t s_ = (expr);                                                 \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                \
      std::fprintf(stderr, "%s:%d %s: status %d\n", __FILE__, __LINE__, #expr, s_); \
      std::exit(1);                                                                   \
    }                                                                                 \
  } while (0)

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  constexpr int H = 2560, Q = 32 * 128, KV = 8 * 128, I = 9728, V = 151936;
  constexpr size_t kWorkspace = 32u << 20;
  const struct {
    const char* name;
    int m, k;  // output features, input features
    bool f32_out;
  } shapes[] = {{"q", Q, H, false},    {"k_or_v", KV, H, false}, {"o", H, Q, false},
                {"gate_or_up", I, H, false}, {"down", H, I, false},  {"lm_head", V, H, true}};
  const std::vector<int> rows = quick ? std::vector<int>{32} : std::vector<int>{8, 16, 32, 64};
  FlushedTimer timer;
  cublasHandle_t blas;
  cublasLtHandle_t lt;
  CHECK_BLAS(cublasCreate(&blas));
  CHECK_BLAS(cublasLtCreate(&lt));
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  void* x = weight_bytes(size_t{64} * I * 2);
  void* out = weight_bytes(size_t{64} * V * 4);
  void* ws = weight_bytes(kWorkspace);
  std::printf("| op | rows | MB | GemmEx default | Lt heuristic | Lt best (of n) |\n|---|---|---|---|---|---|\n");
  for (const auto& s : shapes) {
    void* w = weight_bytes(size_t{static_cast<size_t>(s.m)} * s.k * 2);
    const double bytes = 2.0 * s.m * s.k;
    const cudaDataType_t out_type = s.f32_out ? CUDA_R_32F : CUDA_R_16BF;
    for (int n : rows) {
      const float alpha = 1.f, beta = 0.f;
      const double ex = timer.median_ms(
          [&] {
            CHECK_BLAS(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, s.m, n, s.k, &alpha, w, CUDA_R_16BF, s.k, x,
                                    CUDA_R_16BF, s.k, &beta, out, out_type, s.m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
          },
          15);
      cublasLtMatmulDesc_t desc;
      CHECK_BLAS(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
      const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
      CHECK_BLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
      CHECK_BLAS(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
      cublasLtMatrixLayout_t la, lb, lc;
      CHECK_BLAS(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, s.k, s.m, s.k));
      CHECK_BLAS(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, s.k, n, s.k));
      CHECK_BLAS(cublasLtMatrixLayoutCreate(&lc, out_type, s.m, n, s.m));
      cublasLtMatmulPreference_t pref;
      CHECK_BLAS(cublasLtMatmulPreferenceCreate(&pref));
      CHECK_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspace,
                                                      sizeof(kWorkspace)));
      cublasLtMatmulHeuristicResult_t res[32];
      int found = 0;
      CHECK_BLAS(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 32, res, &found));
      double heur = -1, best = -1;
      int best_i = -1;
      for (int i = 0; i < found; ++i) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        const double ms = timer.median_ms(
            [&] {
              CHECK_BLAS(cublasLtMatmul(lt, desc, &alpha, w, la, x, lb, &beta, out, lc, out, lc, &res[i].algo, ws,
                                        kWorkspace, nullptr));
            },
            15);
        if (i == 0) heur = ms;
        if (best < 0 || ms < best) best = ms, best_i = i;
      }
      auto gbps = [&](double ms) { return ms > 0 ? bytes / (ms * 1e-3) / 1e9 : 0.0; };
      std::printf("{\"op\":\"%s\",\"rows\":%d,\"mb\":%.1f,\"gemmex_us\":%.2f,\"lt_heuristic_us\":%.2f,"
                  "\"lt_best_us\":%.2f,\"lt_best_index\":%d,\"lt_algos\":%d,\"device\":\"%s\"}\n",
                  s.name, n, bytes / 1e6, ex * 1e3, heur * 1e3, best * 1e3, best_i, found, prop.name);
      std::printf("| %s | %d | %.1f | %.1f us, %.0f GB/s | %.1f us, %.0f GB/s | %.1f us, %.0f GB/s (#%d of %d) |\n",
                  s.name, n, bytes / 1e6, ex * 1e3, gbps(ex), heur * 1e3, gbps(heur), best * 1e3, gbps(best), best_i,
                  found);
      std::fflush(stdout);
      cublasLtMatmulPreferenceDestroy(pref);
      cublasLtMatrixLayoutDestroy(la);
      cublasLtMatrixLayoutDestroy(lb);
      cublasLtMatrixLayoutDestroy(lc);
      cublasLtMatmulDescDestroy(desc);
    }
    CHECK_CUDA(cudaFree(w));
  }
  return 0;
}
