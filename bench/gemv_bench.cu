// Decode-step projections of Qwen3-4B (hidden 2560, 32/8 heads of 128, intermediate 9728, vocab
// 151936) on the skinny kernels of kernels/cuda/gemv.cu next to cuBLAS (cublasGemmEx, bf16 in,
// fp32 compute, the call the backend makes for larger batches) on the same shapes, for 1..8 rows
// (the batch of a decode step). CUDA events, median; before every timed launch the L2 is flushed
// by reading 512 MB (clean lines, as in a decode step, where the previous matrices' weights fill
// it; a memset would leave dirty lines to write back, which a decode step does not see and which
// the first version of this bench charged to the smaller matrices). GB/s = weight bytes read /
// time (x and out are under 0.1% of it). One JSON object per line. Usage: gemv_bench [--quick | --chain]
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_cuda.h"
#include "ops.h"

namespace {

// Qwen3-4B: hidden, q and kv projection widths, intermediate, vocabulary.
constexpr int H = 2560, Q = 32 * 128, KV = 8 * 128, I = 9728, V = 151936;

#define CHECK_OK(expr)                                                    \
  do {                                                                    \
    const std::string e_ = (expr);                                        \
    if (!e_.empty()) {                                                    \
      std::fprintf(stderr, "%s:%d %s\n", __FILE__, __LINE__, e_.c_str()); \
      std::exit(1);                                                       \
    }                                                                     \
  } while (0)

}  // namespace

// --chain: one decode step's order instead of one launch at a time. For each op (and for a whole
// layer: q/k/v, gate/up, o, down), kChain copies with distinct weights (together far over the 50 MB
// L2) launched back to back in one CUDA graph, as a step replays them; time per copy. This charges
// each kernel its real boundary (graph launch gap, ramp, tail) instead of a lone launch's.
void run_chain(int reps, const cudaDeviceProp& prop);

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--chain") == 0) {
    cudaDeviceProp prop{};
    CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
    run_chain(20, prop);
    return 0;
  }
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int reps = quick ? 5 : 30;
  FlushedTimer timer;
  cublasHandle_t cublas;
  if (cublasCreate(&cublas) != CUBLAS_STATUS_SUCCESS) return 1;
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  void* x = weight_bytes(size_t{8} * I * 2);
  void* out = weight_bytes(size_t{8} * V * 4);
  void* out2 = weight_bytes(size_t{8} * I * 2);
  void* out3 = weight_bytes(size_t{8} * I * 2);
  auto cublas_gemm = [&](const void* w, int m, int k, int n, void* o, bool f32) {
    const float alpha = 1.f, beta = 0.f;
    if (cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w, CUDA_R_16BF, k, x, CUDA_R_16BF, k, &beta, o,
                     f32 ? CUDA_R_32F : CUDA_R_16BF, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS) {
      std::fprintf(stderr, "cublasGemmEx failed\n");
      std::exit(1);
    }
  };
  struct Shape {
    const char* name;
    int m, k;
  };
  // The projections of one layer plus the lm_head; q/k/v and gate/up as the backend launches them.
  void* wq = weight_bytes(size_t{Q} * H * 2);
  void* wk = weight_bytes(size_t{KV} * H * 2);
  void* wv = weight_bytes(size_t{KV} * H * 2);
  void* wo = weight_bytes(size_t{H} * Q * 2);
  void* wg = weight_bytes(size_t{I} * H * 2);
  void* wu = weight_bytes(size_t{I} * H * 2);
  void* wd = weight_bytes(size_t{H} * I * 2);
  void* wl = weight_bytes(size_t{V} * H * 2);
  auto report = [&](const char* op, const char* impl, int n, double bytes, double ms) {
    std::printf("{\"op\": \"%s\", \"impl\": \"%s\", \"n\": %d, \"mb\": %.1f, \"us\": %.2f, \"gbps\": %.0f, \"device\": \"%s\"}\n",
                op, impl, n, bytes / 1e6, ms * 1e3, bytes / (ms * 1e-3) / 1e9, prop.name);
    std::fflush(stdout);
  };
  for (int n : quick ? std::vector<int>{1} : std::vector<int>{1, 2, 3, 4, 8}) {
    {  // q, k, v
      const double bytes = 2.0 * (Q + 2 * KV) * H;
      const swaa::cuda::GemvOutput outs[3] = {{wq, nullptr, out, Q}, {wk, nullptr, out2, KV}, {wv, nullptr, out3, KV}};
      report("qkv", "swaa_gemv_many", n, bytes,
             timer.median_ms([&] { CHECK_OK(swaa::cuda::gemv_many(x, n, H, outs, 3, false, nullptr)); }, reps));
      report("qkv", "swaa_gemv_x3", n, bytes, timer.median_ms([&] {
               CHECK_OK(swaa::cuda::gemv(x, wq, n, H, Q, out, false, nullptr));
               CHECK_OK(swaa::cuda::gemv(x, wk, n, H, KV, out2, false, nullptr));
               CHECK_OK(swaa::cuda::gemv(x, wv, n, H, KV, out3, false, nullptr));
             }, reps));
      report("qkv", "cublas_x3", n, bytes, timer.median_ms([&] {
               cublas_gemm(wq, Q, H, n, out, false);
               cublas_gemm(wk, KV, H, n, out2, false);
               cublas_gemm(wv, KV, H, n, out3, false);
             }, reps));
    }
    {  // gate, up, SwiGLU
      const double bytes = 2.0 * 2 * I * H;
      report("gate_up_silu", "swaa_gemv_swiglu", n, bytes, timer.median_ms([&] {
               CHECK_OK(swaa::cuda::gemv_swiglu(x, n, H, I, wg, nullptr, wu, nullptr, out, nullptr));
             }, reps));
      report("gate_up_silu", "cublas_x2_silu_mul", n, bytes, timer.median_ms([&] {
               cublas_gemm(wg, I, H, n, out2, false);
               cublas_gemm(wu, I, H, n, out3, false);
               CHECK_OK(swaa::cuda::silu_mul(out2, out3, out2, static_cast<int64_t>(n) * I, nullptr));
             }, reps));
    }
    const Shape singles[] = {{"o", H, Q}, {"down", H, I}, {"lm_head_f32", V, H}};
    void* ws[] = {wo, wd, wl};
    for (int i = 0; i < 3; ++i) {
      const Shape s = singles[i];
      const bool f32 = i == 2;
      const double bytes = 2.0 * s.m * s.k;
      report(s.name, "swaa_gemv", n, bytes, timer.median_ms([&] {
               CHECK_OK(swaa::cuda::gemv(x, ws[i], n, s.k, s.m, out, f32, nullptr));
             }, reps));
      report(s.name, "cublas", n, bytes, timer.median_ms([&] { cublas_gemm(ws[i], s.m, s.k, n, out, f32); }, reps));
    }
  }
  cublasDestroy(cublas);
  return 0;
}

void run_chain(int reps, const cudaDeviceProp& prop) {
  constexpr int kChain = 8;
  FlushedTimer timer;
  void* x = weight_bytes(size_t{8} * I * 2);
  void* out = weight_bytes(size_t{8} * I * 4);
  void* out2 = weight_bytes(size_t{8} * I * 2);
  void* out3 = weight_bytes(size_t{8} * I * 2);
  struct Layer {
    void *q, *k, *v, *o, *g, *u, *d;
  };
  std::vector<Layer> layers(kChain);
  for (Layer& l : layers) {
    l = {weight_bytes(size_t{Q} * H * 2), weight_bytes(size_t{KV} * H * 2), weight_bytes(size_t{KV} * H * 2),
         weight_bytes(size_t{H} * Q * 2),  weight_bytes(size_t{I} * H * 2),  weight_bytes(size_t{I} * H * 2),
         weight_bytes(size_t{H} * I * 2)};
  }
  cudaStream_t s;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  auto qkv = [&](const Layer& l) {
    const swaa::cuda::GemvOutput outs[3] = {{l.q, nullptr, out, Q}, {l.k, nullptr, out2, KV}, {l.v, nullptr, out3, KV}};
    CHECK_OK(swaa::cuda::gemv_many(x, 1, H, outs, 3, false, s));
  };
  auto gate_up = [&](const Layer& l) {
    CHECK_OK(swaa::cuda::gemv_swiglu(x, 1, H, I, l.g, nullptr, l.u, nullptr, out2, s));
  };
  auto o = [&](const Layer& l) { CHECK_OK(swaa::cuda::gemv(x, l.o, 1, Q, H, out3, false, s)); };
  auto down = [&](const Layer& l) { CHECK_OK(swaa::cuda::gemv(x, l.d, 1, I, H, out3, false, s)); };
  const double b_qkv = 2.0 * (Q + 2 * KV) * H, b_gu = 4.0 * I * H, b_o = 2.0 * H * Q, b_d = 2.0 * H * I;
  struct Op {
    const char* name;
    double bytes;
    int which;  // 0 qkv, 1 gate_up, 2 o, 3 down, 4 all four
  };
  const Op ops[] = {{"qkv", b_qkv, 0}, {"gate_up_silu", b_gu, 1}, {"o", b_o, 2}, {"down", b_d, 3},
                    {"layer", b_qkv + b_gu + b_o + b_d, 4}};
  cudaEvent_t e0, e1;
  CHECK_CUDA(cudaEventCreate(&e0));
  CHECK_CUDA(cudaEventCreate(&e1));
  for (const Op& op : ops) {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CHECK_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (const Layer& l : layers) {
      if (op.which == 0 || op.which == 4) qkv(l);
      if (op.which == 1 || op.which == 4) gate_up(l);
      if (op.which == 2 || op.which == 4) o(l);
      if (op.which == 3 || op.which == 4) down(l);
    }
    CHECK_CUDA(cudaStreamEndCapture(s, &graph));
    CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    std::vector<float> ms;
    for (int r = 0; r < reps + 1; ++r) {
      flush_read_all<<<1024, 256, 0, s>>>(static_cast<const uint4*>(timer.flush), timer.flush_bytes / 16, timer.sink);
      CHECK_CUDA(cudaEventRecord(e0, s));
      CHECK_CUDA(cudaGraphLaunch(exec, s));
      CHECK_CUDA(cudaEventRecord(e1, s));
      CHECK_CUDA(cudaEventSynchronize(e1));
      float t = 0;
      CHECK_CUDA(cudaEventElapsedTime(&t, e0, e1));
      if (r > 0) ms.push_back(t / kChain);
    }
    std::sort(ms.begin(), ms.end());
    const double m = ms[ms.size() / 2];
    std::printf("{\"chain\": \"%s\", \"mb\": %.1f, \"us\": %.2f, \"gbps\": %.0f, \"device\": \"%s\"}\n", op.name,
                op.bytes / 1e6, m * 1e3, op.bytes / (m * 1e-3) / 1e9, prop.name);
    std::fflush(stdout);
    CHECK_CUDA(cudaGraphExecDestroy(exec));
    CHECK_CUDA(cudaGraphDestroy(graph));
  }
}
