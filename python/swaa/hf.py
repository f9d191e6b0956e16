"""Hugging Face Transformers integration: `apply(model, config)` makes a Qwen3, Qwen3-MoE, Qwen2 or
Llama model attend with the SWAA mask (../../../shared/SWAA.md) in training, scoring and
`generate`, through Transformers' AttentionInterface (no monkey patching of model code).

The phase of every query token comes from its origin:
- training / scoring: pass the prompt length of every sequence, as the `swaa_prompt_lens` keyword
  of the model's forward ([B] tensor; the prompt is the tokens whose labels are ignored), or inside
  `with swaa.hf.prompt_lengths(P):`. Tokens at positions >= P follow the generated-token rule.
- `generate`: the first forward (no cache yet) is the prompt; every later token is generated. This
  needs no argument (the prompt lengths are remembered from the first forward).
Positions are counted from each sequence's first non-padding token, so left padding is fine.

Backends: "sdpa" (a dense boolean mask, any PyTorch >= 2.1; memory grows with T^2), "flex"
(FlexAttention block masks: tiles outside sinks ∪ window are skipped; CUDA, PyTorch >= 2.5) and
"cuda" (swaa's own training kernels through swaa.train_attention, bf16, whole-sequence forwards;
decode steps fall back to sdpa). "auto" picks flex on CUDA when available.
"""
from __future__ import annotations

import contextlib
import threading

import torch
import torch.nn.functional as F

from .config import SWAAConfig
from .mask import dense_mask, flex_mask_mod

NAME = "swaa"
_local = threading.local()


@contextlib.contextmanager
def prompt_lengths(lengths):
    """Prompt length of every sequence for the forwards inside the block (training, scoring)."""
    previous = getattr(_local, "prompt_lens", None)
    _local.prompt_lens = torch.as_tensor(lengths)
    try:
        yield
    finally:
        _local.prompt_lens = previous


def _key_mask(batch_size, q_length, kv_length, q_offset=0, kv_offset=0, mask_function=None,
              attention_mask=None, **kwargs):
    """AttentionMaskInterface entry: hands the attention function the [B, kv_length] padding mask
    (True = real token), or None without padding. The SWAA rule itself is applied per layer."""
    if attention_mask is None:
        return None
    m = attention_mask.bool()
    if m.dim() != 2:
        raise ValueError(f"swaa: expected a 2D padding mask, got shape {tuple(m.shape)}")
    if m.shape[1] < kv_length:  # keys appended after the mask was made (generation)
        m = F.pad(m, (0, kv_length - m.shape[1]), value=True)
    m = m[:, kv_offset:kv_offset + kv_length]
    return None if bool(m.all()) else m


def _repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    return x if groups == 1 else x.repeat_interleave(groups, dim=1)


def _attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """query [B, H, Tq, D], key/value [B, Hkv, Tk, D] -> ([B, Tq, H, D], None)."""
    policy = module.swaa_policy
    b, h, tq, d = query.shape
    tk = key.shape[2]
    device = query.device
    key_valid = attention_mask if isinstance(attention_mask, torch.Tensor) and attention_mask.dtype == torch.bool else None
    pad = torch.zeros(b, dtype=torch.long, device=device) if key_valid is None else (~key_valid).long().cumprod(1).sum(1)
    # Queries are the last tq keys; positions count from the first real token of each sequence.
    prompt = kwargs.get("swaa_prompt_lens", None)
    if prompt is None:
        prompt = getattr(_local, "prompt_lens", None)
    if prompt is None:
        state = getattr(module, "_swaa_generation", None)
        if tq == tk or state is None or state.shape[0] != b:
            prompt = (tk - pad)  # a fresh forward: every token is the prompt (generate's prefill)
            module._swaa_generation = prompt
        else:
            prompt = state
    prompt = torch.as_tensor(prompt, device=device).long().view(-1).expand(b)
    groups = h // key.shape[1]
    scale = scaling if scaling is not None else d ** -0.5
    backend = getattr(module, "swaa_backend", "sdpa")
    if backend == "cuda" and tq == tk and query.is_cuda and query.dtype == torch.bfloat16:
        # swaa's own training kernels (swaa.train_attention): whole sequences, varlen, no padding
        # computed; later decode steps of `generate` (tq < tk) take the sdpa path below.
        from .train_attention import padded_to_varlen, swaa_attention_varlen, varlen_to_padded
        valid = key_valid if key_valid is not None else torch.ones(b, tk, dtype=torch.bool, device=device)
        lens = valid.sum(1)
        cu = F.pad(lens.cumsum(0), (1, 0))
        out = swaa_attention_varlen(padded_to_varlen(query, valid), padded_to_varlen(key, valid),
                                    padded_to_varlen(value, valid), cu, prompt, int(lens.max()), policy, scale)
        return varlen_to_padded(out, valid), None
    if backend == "flex" and (tq == tk or tq > _FLEX_MAX_CACHED_QUERIES):
        from torch.nn.attention.flex_attention import create_block_mask
        # Positions shift per sequence with left padding; the mask_mod works in key indices.
        # _compile=True: evaluated block by block; the eager path materialises [tq, tk] index
        # tensors (it asked for 128 GiB at 32k tokens on the H200).
        block = _cached_mask(backend, policy, tq, tk, (prompt, pad, key_valid), lambda: create_block_mask(
            flex_mask_mod(policy, prompt, tk - tq, key_valid, pad), b, None, tq, tk, device=device, _compile=True))
        out = _compiled_flex()(query, key, value, block_mask=block, scale=scale, enable_gqa=groups > 1)
    else:
        m = _cached_mask(backend, policy, tq, tk, (prompt, pad, key_valid),
                         lambda: dense_mask(policy, tq, tk, prompt, tk - tq, key_valid, pad))
        out = F.scaled_dot_product_attention(query, _repeat_kv(key, groups), _repeat_kv(value, groups),
                                             attn_mask=m, dropout_p=dropout if module.training else 0.0,
                                             scale=scale)
        # Rows with no visible key (padding queries) come out NaN from SDPA: zero them.
        out = torch.nan_to_num(out, nan=0.0)
    return out.transpose(1, 2).contiguous(), None


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and a.device == b.device and bool(torch.equal(a, b))


def _cached_mask(backend, policy, tq, tk, inputs, build):
    """Every layer of one forward with the same policy needs the same mask: build it once. One
    entry per (backend, policy) and thread, replaced when the shapes or the inputs (prompt lengths,
    padding) change."""
    cache = getattr(_local, "masks", None)
    if cache is None:
        cache = _local.masks = {}
    hit = cache.get((backend, policy))
    if hit is not None and hit[0] == (tq, tk) and all(_same(x, y) for x, y in zip(hit[1], inputs)):
        return hit[2]
    mask = build()
    cache[(backend, policy)] = ((tq, tk), tuple(None if x is None else x.clone() for x in inputs), mask)
    return mask


def _attention_modules(model):
    for m in model.modules():
        if hasattr(m, "layer_idx") and all(hasattr(m, x) for x in ("q_proj", "k_proj", "v_proj", "o_proj")):
            yield m


def apply(model, config: SWAAConfig | dict | str, backend: str = "auto"):
    """Makes `model` attend with SWAA. `config`: SWAAConfig, a dict with the four fields, or a JSON
    file path. Returns the model (changed in place). Undo with `model.set_attn_implementation("sdpa")`."""
    from transformers import AttentionInterface, AttentionMaskInterface

    if isinstance(config, dict):
        config = SWAAConfig(**config)
    elif isinstance(config, str):
        config = SWAAConfig.from_json(config)
    if backend == "auto":
        backend = "flex" if _flex_available() and next(model.parameters()).is_cuda else "sdpa"
    if backend not in ("sdpa", "flex", "cuda"):
        raise ValueError(f"swaa.hf.apply: backend must be 'auto', 'sdpa', 'flex' or 'cuda', got {backend!r}")
    modules = list(_attention_modules(model))
    if not modules:
        raise ValueError(f"swaa.hf.apply: no attention layers with q/k/v/o projections in {type(model).__name__}")
    config.check_layers(len(modules))
    for m in modules:
        m.swaa_policy = config.policy(m.layer_idx)
        m.swaa_backend = backend
    AttentionInterface.register(NAME, _attention)
    AttentionMaskInterface.register(NAME, _key_mask)
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(NAME)
    else:
        model.config._attn_implementation = NAME
    model.swaa_config = config
    return model


_FLEX = None
# Steps on a KV cache (fewer queries than keys) with at most this many queries, as generate's decode
# steps, take the SDPA path with a dense [B, 1, tq, tk] mask, which is small there: flex_attention,
# compiled with static shapes, would recompile for every new key length (Transformers + swaa.hf
# decoded at 1 tok/s at 32k that way, and with FA decode a decode step ran out of memory, asking for
# 128 GiB). Whole sequences (training, a prompt's prefill) keep FlexAttention.
_FLEX_MAX_CACHED_QUERIES = 64


def _compiled_flex():
    """flex_attention compiled once (eager FlexAttention materialises the score matrix)."""
    global _FLEX
    if _FLEX is None:
        from torch.nn.attention.flex_attention import flex_attention
        _FLEX = torch.compile(flex_attention, dynamic=False)
    return _FLEX


def _flex_available() -> bool:
    try:
        from torch.nn.attention import flex_attention  # noqa: F401
        return True
    except ImportError:
        return False
