"""The SWAA mask of ../../../shared/SWAA.md §2 and §4 in PyTorch, for padded batches.

A query at absolute position p (in its own sequence) sees key position j iff j <= p and, in a
sliding layer, unless the query is a generated token with FA decode on, (j > p - W or j < S).
A token is generated (decode phase) iff its position is >= the sequence's prompt length P; in
training, the prompt is the tokens whose labels are ignored (§4).

These are the reference semantics of the Python side: `dense_mask` builds a boolean
[B, 1, Tq, Tk] mask for SDPA or eager attention; `flex_mask_mod` gives the same rule as a
FlexAttention mask_mod (block-sparse: tiles outside sinks ∪ window are skipped).
"""
from __future__ import annotations

import torch

from .config import LayerPolicy


def visible(q_pos: torch.Tensor, k_pos: torch.Tensor, generated: torch.Tensor, policy: LayerPolicy) -> torch.Tensor:
    """Elementwise rule on broadcastable tensors of query positions, key positions and the query's
    phase (True = generated). Returns a bool tensor."""
    causal = k_pos <= q_pos
    if not policy.sliding:
        return causal
    windowed = causal & ((k_pos > q_pos - policy.window) | (k_pos < policy.keep_first))
    if policy.fa_decode:
        return torch.where(generated, causal, windowed)
    return windowed


def dense_mask(policy: LayerPolicy, q_len: int, k_len: int, prompt_lens: torch.Tensor,
               q_offset: int = 0, key_valid: torch.Tensor | None = None,
               pad: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean [B, 1, q_len, k_len]. Query i sits at key index q_offset + i (keys already in the
    cache come first). Positions count from each sequence's first real token: with `pad` ([B]
    leading padding keys, left padding) key index j is position j - pad[b]; padding keys are never
    visible. prompt_lens: [B] prompt length P (positions >= P are generated tokens).
    key_valid: optional [B, k_len] bool (False = padding key)."""
    device = prompt_lens.device
    b = prompt_lens.shape[0]
    shift = pad.view(b, 1, 1) if pad is not None else torch.zeros(b, 1, 1, dtype=torch.long, device=device)
    q_pos = torch.arange(q_len, device=device).view(1, q_len, 1) + q_offset - shift   # [B, q, 1]
    k_pos = torch.arange(k_len, device=device).view(1, 1, k_len) - shift              # [B, 1, k]
    m = visible(q_pos, k_pos, q_pos >= prompt_lens.view(b, 1, 1), policy) & (k_pos >= 0)
    m = m.expand(b, q_len, k_len)
    if key_valid is not None:
        m = m & key_valid.view(b, 1, k_len).bool()
    return m.unsqueeze(1)


def flex_mask_mod(policy: LayerPolicy, prompt_lens: torch.Tensor, q_offset: int = 0,
                  key_valid: torch.Tensor | None = None, pad: torch.Tensor | None = None):
    """The same rule as a FlexAttention mask_mod(b, h, q_idx, kv_idx)."""
    w, s = policy.window, policy.keep_first

    def mask_mod(b, h, q_idx, kv_idx):
        shift = pad[b] if pad is not None else 0
        p = q_idx + q_offset - shift
        j = kv_idx - shift
        causal = (j <= p) & (j >= 0)
        if key_valid is not None:
            causal = causal & key_valid[b, kv_idx]
        if not policy.sliding:
            return causal
        windowed = causal & ((j > p - w) | (j < s))
        if policy.fa_decode:
            return windowed | (causal & (p >= prompt_lens[b]))
        return windowed

    return mask_mod
