// CudaBackend: the Backend ops on one NVIDIA GPU. bf16 weights, activations and KV cache, fp32
// accumulation; GEMMs through cuBLAS (bf16 in, fp32 compute; fp32 out for logits); attention
// through the SWAA kernels of kernels/cuda (tiled prefill, split-KV decode; a plain kernel for
// head dims other than 64/128). Device memory comes from a caching pool so per-step activations
// do not call cudaMalloc; decode steps are recorded into CUDA graphs and replayed
// (cuda_backend_impl.h). Tests: tests/e2e/cuda_e2e_test.cc, cuda_graphs_test.cc (label cuda).
#pragma once

#include <cstdint>
#include <memory>

#include "backend/backend.h"

namespace swaa {

// Creates the backend on `device`; Unimplemented when no GPU is visible.
Result<std::unique_ptr<Backend>> make_cuda_backend(int device);
// How many times, in this process, a CUDA backend ran several projections as one GEMM over stacked
// weights (the default; SWAA_CUDA_STACKED_GEMM=0 turns it off): lets tests see that the path ran.
int64_t cuda_stacked_gemm_launches();
// How many logits rows, in this process, had their logprobs computed on a CUDA backend's device
// (cuda::row_logprobs): lets tests see which path ran.
int64_t cuda_row_logprobs_rows();

}  // namespace swaa
