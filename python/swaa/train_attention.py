"""SWAA attention for training as a PyTorch autograd op, on swaa's own CUDA kernels
(kernels/cuda/attention_train_*.cu: forward with log-sum-exp, FlashAttention-2 backward; tiles
outside sinks ∪ window never loaded). The extension is compiled on first use with
torch.utils.cpp_extension from the engine's sources (sm_90a; set SWAA_CUDA_ARCH to change it).

    out = swaa_attention_varlen(q, k, v, cu_seqlens, prompt_lens, max_seqlen, policy)

q [tokens, heads, head_dim], k/v [tokens, kv_heads, head_dim] bf16 on CUDA, sequences back to back;
row t of sequence s is a prompt row iff t < prompt_lens[s] (SWAA.md §4).
"""
from __future__ import annotations

import os

import torch

from .config import LayerPolicy

_EXT = None
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def extension():
    """Builds (once, cached by torch under TORCH_EXTENSIONS_DIR) and returns the CUDA extension."""
    global _EXT
    if _EXT is None:
        from torch.utils.cpp_extension import load
        kernels = os.path.join(_ROOT, "kernels", "cuda")
        arch = os.environ.get("SWAA_CUDA_ARCH", "90a")
        _EXT = load(
            name="swaa_train_attention",
            sources=[os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc", "train_attention.cpp"),
                     os.path.join(kernels, "attention_train_params.cc"),
                     os.path.join(kernels, "attention_train_fwd.cu"),
                     os.path.join(kernels, "attention_train_bwd.cu")],
            extra_include_paths=[kernels],
            extra_cflags=["-O3", "-std=c++17"],
            extra_cuda_cflags=["-O3", "-std=c++17", f"-gencode=arch=compute_{arch},code=sm_{arch}"],
            verbose=bool(os.environ.get("SWAA_EXT_VERBOSE")),
        )
    return _EXT


class _SwaaAttention(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, cu_seqlens, prompt_lens, max_seqlen, policy, scale, sink_splits):
        args = (cu_seqlens, prompt_lens, max_seqlen, policy.sliding, policy.window, policy.keep_first,
                policy.fa_decode, scale)
        out, lse = extension().forward(q, k, v, *args)
        ctx.save_for_backward(q, k, v, out, lse, cu_seqlens, prompt_lens)
        ctx.rest = args[2:] + (sink_splits,)
        return out

    @staticmethod
    def backward(ctx, dout):
        q, k, v, out, lse, cu_seqlens, prompt_lens = ctx.saved_tensors
        dq, dk, dv = extension().backward(dout.contiguous(), q, k, v, out, lse, cu_seqlens, prompt_lens, *ctx.rest)
        return dq, dk, dv, None, None, None, None, None, None


def swaa_attention_varlen(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seqlens: torch.Tensor,
                          prompt_lens: torch.Tensor, max_seqlen: int, policy: LayerPolicy,
                          scale: float | None = None, sink_splits: int | None = None) -> torch.Tensor:
    """sink_splits: CTAs sharing the backward walk of each key tile that holds sinks (1 = none,
    0 = automatic; TrainAttentionParams::sink_splits). Default: $SWAA_TRAIN_SINK_SPLITS or 0."""
    if q.dtype != torch.bfloat16:
        raise TypeError(f"swaa_attention_varlen: q, k, v must be bfloat16, got {q.dtype}")
    scale = scale if scale is not None else q.shape[-1] ** -0.5
    if sink_splits is None:
        sink_splits = int(os.environ.get("SWAA_TRAIN_SINK_SPLITS", "0"))
    return _SwaaAttention.apply(q.contiguous(), k.contiguous(), v.contiguous(), cu_seqlens.int().contiguous(),
                                prompt_lens.int().contiguous(), int(max_seqlen), policy, float(scale),
                                int(sink_splits))


def padded_to_varlen(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """[B, H, T, D] with valid [B, T] (real tokens first in each row) -> [N, H, D]."""
    return x.transpose(1, 2)[valid]


def varlen_to_padded(y: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """[N, H, D] -> [B, T, H, D] with zeros at padding."""
    out = y.new_zeros(valid.shape + y.shape[1:])
    out[valid] = y
    return out
