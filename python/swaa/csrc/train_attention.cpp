// PyTorch binding of swaa's CUDA training attention (kernels/cuda/swaa_attention_train.h): varlen
// bf16 q/k/v, forward -> (out, lse), backward -> (dq, dk, dv). Built on the GPU machine by
// swaa/train_attention.py with torch.utils.cpp_extension from the same sources as the engine.
#include <ATen/cuda/CUDAContext.h>
#include <torch/extension.h>

#include <vector>

#include "swaa_attention_train.h"

namespace {

void check(const at::Tensor& t, const char* name, at::ScalarType dtype) {
  TORCH_CHECK(t.is_cuda(), "swaa attention: ", name, " must be a CUDA tensor");
  TORCH_CHECK(t.scalar_type() == dtype, "swaa attention: ", name, " must be ", c10::toString(dtype), ", got ",
              c10::toString(t.scalar_type()));
  TORCH_CHECK(t.is_contiguous(), "swaa attention: ", name, " must be contiguous");
}

swaa::cuda::TrainAttentionParams params(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        const at::Tensor& cu_seqlens, const at::Tensor& prompt_lens,
                                        int64_t max_seqlen, bool sliding, int64_t window, int64_t keep_first,
                                        bool fa_decode, double scale) {
  check(q, "q", at::kBFloat16);
  check(k, "k", at::kBFloat16);
  check(v, "v", at::kBFloat16);
  check(cu_seqlens, "cu_seqlens", at::kInt);
  check(prompt_lens, "prompt_lens", at::kInt);
  TORCH_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3, "swaa attention: q, k, v must be [tokens, heads, head_dim]");
  TORCH_CHECK(k.sizes() == v.sizes(), "swaa attention: k and v shapes differ");
  TORCH_CHECK(q.size(0) == k.size(0) && q.size(2) == k.size(2), "swaa attention: q and k disagree in tokens or head_dim");
  swaa::cuda::TrainAttentionParams p;
  p.q = q.data_ptr();
  p.k = k.data_ptr();
  p.v = v.data_ptr();
  p.cu_seqlens = cu_seqlens.data_ptr<int>();
  p.prompt_lens = prompt_lens.data_ptr<int>();
  p.num_seqs = static_cast<int>(prompt_lens.numel());
  TORCH_CHECK(cu_seqlens.numel() == p.num_seqs + 1, "swaa attention: cu_seqlens must have num_seqs + 1 entries");
  p.num_tokens = static_cast<int>(q.size(0));
  p.max_seqlen = static_cast<int>(max_seqlen);
  p.num_heads = static_cast<int>(q.size(1));
  p.num_kv_heads = static_cast<int>(k.size(1));
  p.head_dim = static_cast<int>(q.size(2));
  p.sliding = sliding;
  p.window = static_cast<int>(window);
  p.keep_first = static_cast<int>(keep_first);
  p.fa_decode = fa_decode;
  p.softmax_scale = static_cast<float>(scale);
  return p;
}

std::vector<at::Tensor> forward(at::Tensor q, at::Tensor k, at::Tensor v, at::Tensor cu_seqlens,
                                at::Tensor prompt_lens, int64_t max_seqlen, bool sliding, int64_t window,
                                int64_t keep_first, bool fa_decode, double scale) {
  auto p = params(q, k, v, cu_seqlens, prompt_lens, max_seqlen, sliding, window, keep_first, fa_decode, scale);
  at::Tensor out = at::empty_like(q);
  at::Tensor lse = at::empty({q.size(1), q.size(0)}, q.options().dtype(at::kFloat));
  p.out = out.data_ptr();
  p.lse = lse.data_ptr<float>();
  const std::string err = swaa::cuda::attention_train_forward(p, at::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(err.empty(), "swaa attention forward: ", err);
  return {out, lse};
}

std::vector<at::Tensor> backward(at::Tensor dout, at::Tensor q, at::Tensor k, at::Tensor v, at::Tensor out,
                                 at::Tensor lse, at::Tensor cu_seqlens, at::Tensor prompt_lens, int64_t max_seqlen,
                                 bool sliding, int64_t window, int64_t keep_first, bool fa_decode, double scale,
                                 int64_t sink_splits) {
  auto p = params(q, k, v, cu_seqlens, prompt_lens, max_seqlen, sliding, window, keep_first, fa_decode, scale);
  p.sink_splits = static_cast<int>(sink_splits);
  check(dout, "dout", at::kBFloat16);
  check(out, "out", at::kBFloat16);
  check(lse, "lse", at::kFloat);
  at::Tensor dq = at::empty_like(q), dk = at::empty_like(k), dv = at::empty_like(v);
  p.out = out.data_ptr();
  p.lse = lse.data_ptr<float>();
  p.dout = dout.data_ptr();
  p.dq = dq.data_ptr();
  p.dk = dk.data_ptr();
  p.dv = dv.data_ptr();
  const size_t bytes = swaa::cuda::train_backward_workspace_bytes(p);
  at::Tensor workspace = at::empty({static_cast<int64_t>(bytes)}, q.options().dtype(at::kByte));
  const std::string err =
      swaa::cuda::attention_train_backward(p, bytes ? workspace.data_ptr() : nullptr, at::cuda::getCurrentCUDAStream().stream());
  TORCH_CHECK(err.empty(), "swaa attention backward: ", err);
  return {dq, dk, dv};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "SWAA training attention forward -> (out, lse)");
  m.def("backward", &backward, "SWAA training attention backward -> (dq, dk, dv)");
}
