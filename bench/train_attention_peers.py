#!/usr/bin/env python3
"""Training attention, forward and forward+backward, on the GPU machine: swaa's CUDA op
(python/swaa/train_attention.py, kernels/cuda/attention_train_*.cu) next to FlexAttention with the
same SWAA mask (swaa.mask.flex_mask_mod) and, for full causal, SDPA (cuDNN, FlashAttention-2).

Shapes: B sequences of L tokens packed back to back (swaa, varlen) or as a [B, H, L, D] batch
(peers), 32 query heads, 8 KV heads, D = 128, bf16. Each sequence's prompt is its first L - A
tokens; the last A rows are answer tokens (SWAA.md §4: generated-token rule, full with FA decode).
CUDA events, median of several calls. Useful TFLOP/s: forward 4*H*D*sum(visible pairs), backward
10*H*D*sum(visible) (FlashAttention-2's count: S recomputed, dP, dV, dQ, dK), so fwd+bwd = 14*H*D*V.
SDPA peers get K/V expanded to 32 heads. One JSON line per measurement, then a Markdown table.

    python3 bench/train_attention_peers.py [--quick]
"""
from __future__ import annotations

import json
import os
import sys
import warnings

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from swaa import SWAAConfig  # noqa: E402
from swaa.mask import flex_mask_mod  # noqa: E402
from swaa.train_attention import swaa_attention_varlen  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
H, KH, D = 32, 8, 128
ANSWER = 1024
QUICK = "--quick" in sys.argv
torch._dynamo.config.recompile_limit = 64
torch._dynamo.config.cache_size_limit = 64
flex = torch.compile(flex_attention, dynamic=False)
MASKS = [("causal", SWAAConfig()),
         ("W2048_S0", SWAAConfig(sliding_window_size=2048)),
         ("W2048_S100", SWAAConfig(sliding_window_size=2048, keep_first=100)),
         ("W2048_S100_FA", SWAAConfig(sliding_window_size=2048, keep_first=100, force_fa_decode=True))]


def time_ms(fn) -> float:
    fn()
    torch.cuda.synchronize()
    times, total = [], 0.0
    while len(times) < 30 and (len(times) < 3 or total < 800.0):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
        total += times[-1]
    times.sort()
    return times[len(times) // 2]


def visible_pairs(cfg: SWAAConfig, L: int, prompt: int) -> float:
    """Sum over query rows of one sequence of the keys it sees (SWAA.md §2, §4)."""
    pol = cfg.policy(0)
    p = torch.arange(L, dtype=torch.float64)
    full = p + 1
    if not pol.sliding:
        return float(full.sum())
    wb = (p - pol.window + 1).clamp(min=0)
    windowed = (p + 1 - wb) + torch.minimum(wb, torch.full_like(wb, pol.keep_first))
    if pol.fa_decode:
        windowed = torch.where(p >= prompt, full, windowed)
    return float(windowed.sum())


ROWS: list[dict] = []


def emit(**kw):
    ROWS.append(kw)
    print(json.dumps(kw), flush=True)


def measure(impl, mask, B, L, flops_pairs, fwd, make_grads):
    """fwd() -> out; make_grads(out) runs the backward."""
    try:
        with torch.no_grad():
            ms_f = time_ms(fwd)
        ms_fb = time_ms(lambda: make_grads(fwd()))
        emit(impl=impl, mask=mask, batch=B, len=L, fwd_ms=round(ms_f, 3), fwdbwd_ms=round(ms_fb, 3),
             fwd_tflops=round(4 * H * D * flops_pairs / (ms_f * 1e-3) / 1e12, 1),
             fwdbwd_tflops=round(14 * H * D * flops_pairs / (ms_fb * 1e-3) / 1e12, 1))
    except Exception as e:  # report and keep going
        emit(impl=impl, mask=mask, batch=B, len=L, error=str(e)[:300])


def case(B: int, L: int) -> None:
    prompt = L - ANSWER
    n = B * L
    q = torch.randn(n, H, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn(n, KH, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn(n, KH, D, device="cuda", dtype=torch.bfloat16, requires_grad=True)
    dout = torch.randn(n, H, D, device="cuda", dtype=torch.bfloat16)
    cu = torch.arange(B + 1, device="cuda", dtype=torch.int32) * L
    prompts = torch.full((B,), prompt, device="cuda", dtype=torch.int32)
    # the same numbers as a padded batch for the peers
    qb, kb, vb = (x.detach().view(B, L, -1, D).transpose(1, 2).contiguous().requires_grad_() for x in (q, k, v))
    doutb = dout.view(B, L, H, D).transpose(1, 2).contiguous()
    for name, cfg in MASKS:
        pol = cfg.policy(0)
        pairs = B * visible_pairs(cfg, L, prompt)
        measure("swaa", name, B, L, pairs, lambda: swaa_attention_varlen(q, k, v, cu, prompts, L, pol, sink_splits=0),
                lambda out: torch.autograd.grad(out, (q, k, v), dout))
        if pol.sliding and pol.keep_first > 0:  # without the split of the sink tiles' backward walks
            measure("swaa_nosplit", name, B, L, pairs,
                    lambda: swaa_attention_varlen(q, k, v, cu, prompts, L, pol, sink_splits=1),
                    lambda out: torch.autograd.grad(out, (q, k, v), dout))
        try:
            bm = create_block_mask(flex_mask_mod(pol, prompts.long()), B, None, L, L, device="cuda")
        except Exception as e:
            emit(impl="flex", mask=name, batch=B, len=L, error=str(e)[:300])
            continue
        measure("flex", name, B, L, pairs, lambda: flex(qb, kb, vb, block_mask=bm, enable_gqa=True),
                lambda out: torch.autograd.grad(out, (qb, kb, vb), doutb))
        # agreement of the two (same inputs, same mask): max |swaa - flex| relative to max |flex|
        with torch.no_grad():
            a = swaa_attention_varlen(q, k, v, cu, prompts, L, pol).float()
            b = flex(qb, kb, vb, block_mask=bm, enable_gqa=True).transpose(1, 2).reshape(n, H, D).float()
            emit(impl="check", mask=name, batch=B, len=L,
                 max_rel_diff=round(((a - b).abs().max() / b.abs().max()).item(), 5))
        del bm
        if name == "causal":
            ke, ve = (x.detach().repeat_interleave(H // KH, dim=1).requires_grad_() for x in (kb, vb))
            for impl, backend in (("cudnn_sdpa", SDPBackend.CUDNN_ATTENTION),
                                  ("flash2_sdpa", SDPBackend.FLASH_ATTENTION)):
                def fwd(backend=backend):
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(qb, ke, ve, is_causal=True)
                measure(impl, name, B, L, pairs, fwd, lambda out: torch.autograd.grad(out, (qb, ke, ve), doutb))
            del ke, ve
    torch.cuda.empty_cache()


def table(rows) -> None:
    impls = ["swaa", "swaa_nosplit", "flex", "cudnn_sdpa", "flash2_sdpa"]
    print(f"\nTraining attention on {torch.cuda.get_device_name()}: {H} query heads, {KH} KV heads, D={D}, bf16;"
          f" last {ANSWER} rows of each sequence are answer rows. fwd+bwd useful TFLOP/s (ms):")
    print("| batch x len | mask | " + " | ".join(impls) + " | swaa fwd | flex fwd |")
    print("|---|---|" + "---|" * (len(impls) + 2))
    keys = []
    for r in rows:
        if "fwdbwd_ms" in r and (r["batch"], r["len"], r["mask"]) not in keys:
            keys.append((r["batch"], r["len"], r["mask"]))
    for B, L, m in keys:
        got = {r["impl"]: r for r in rows if (r.get("batch"), r.get("len"), r.get("mask")) == (B, L, m)}
        cells = [f"{got[i]['fwdbwd_tflops']} ({got[i]['fwdbwd_ms']} ms)" if "fwdbwd_ms" in got.get(i, {}) else "-"
                 for i in impls]
        cells += [f"{got[i]['fwd_tflops']} ({got[i]['fwd_ms']} ms)" if "fwd_ms" in got.get(i, {}) else "-"
                  for i in ("swaa", "flex")]
        print(f"| {B} x {L} | {m} | " + " | ".join(cells) + " |")


def main() -> None:
    emit(device=torch.cuda.get_device_name(), torch=torch.__version__)
    for B, L in ([(2, 4096)] if QUICK else [(4, 8192), (1, 32768)]):
        case(B, L)
    table(ROWS)


if __name__ == "__main__":
    main()
