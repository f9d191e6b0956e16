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
               q_offset: int | torch.Tensor = 0, key_valid: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean [B, 1, q_len, k_len]: query i of sequence b sits at position q_offset + i (q_offset an
    int or a [B] tensor: tokens already in the KV cache), key j at position j.
    prompt_lens: [B] prompt length P of each sequence (positions >= P are generated tokens).
    key_valid: optional [B, k_len] bool (False = padding key, never visible)."""
    device = prompt_lens.device
    b = prompt_lens.shape[0]
    offset = torch.as_tensor(q_offset, device=device).reshape(-1, 1, 1) if torch.is_tensor(q_offset) else q_offset
    q_pos = torch.arange(q_len, device=device).view(1, q_len, 1) + offset      # [B|1, q, 1]
    k_pos = torch.arange(k_len, device=device).view(1, 1, k_len)                # [1, 1, k]
    generated = q_pos >= prompt_lens.view(b, 1, 1)                               # [B, q, 1]
    m = visible(q_pos, k_pos, generated, policy)                                 # [B, q, k]
    m = m.expand(b, q_len, k_len)
    if key_valid is not None:
        m = m & key_valid.view(b, 1, k_len).bool()
    return m.unsqueeze(1)


def flex_mask_mod(policy: LayerPolicy, prompt_lens: torch.Tensor, q_offset: int = 0,
                  key_valid: torch.Tensor | None = None):
    """The same rule as a FlexAttention mask_mod(b, h, q_idx, kv_idx)."""
    w, s = policy.window, policy.keep_first

    def mask_mod(b, h, q_idx, kv_idx):
        p = q_idx + q_offset
        causal = kv_idx <= p
        if key_valid is not None:
            causal = causal & key_valid[b, kv_idx]
        if not policy.sliding:
            return causal
        windowed = causal & ((kv_idx > p - w) | (kv_idx < s))
        if policy.fa_decode:
            return windowed | (causal & (p >= prompt_lens[b]))
        return windowed

    return mask_mod
