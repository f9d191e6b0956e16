#!/usr/bin/env python3
"""PyTorch peers for bench/attention_bench.cu on the same shapes (32 query heads, 8 KV heads, D=128,
bf16): cuDNN SDPA and FlashAttention-2 (SDPA flash backend) causal, FlexAttention causal and with the
SWAA mask (mask_mod: j <= p and (p - j < W or j < S)); decode at batch 8 with one query per sequence.
CUDA events, L2 flushed before each timed call, median; one JSON object per line, the schema of
attention_bench. SDPA backends get K/V expanded to 32 heads (they read 4x the KV bytes); GB/s counts
the unique KV bytes (8 heads) for every implementation.
Usage: attention_peers.py [--quick] [--decode-only] [--causal-ab]; env SWAA_BENCH_FLUSH=write (see READ_FLUSH).
--causal-ab: cuDNN SDPA on full causal prefill only (8k, 32k, 128k), each timed after 2 s of
back-to-back calls (run_causal_ab.sh alternates it with attention_bench --causal-ab)."""
import json
import os
import sys
import warnings

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.flex_attention import create_block_mask, flex_attention

warnings.filterwarnings("ignore", category=DeprecationWarning)
H, KH, D = 32, 8, 128
QUICK = "--quick" in sys.argv
flush_buf = torch.zeros(512 << 20, dtype=torch.uint8, device="cuda")
# The L2 flush, as attention_bench's (its Flush): the buffer read (clean lines left), or with
# SWAA_BENCH_FLUSH=write zero_() (a memset: ~50 MB of dirty lines the timed kernel writes back).
READ_FLUSH = os.environ.get("SWAA_BENCH_FLUSH") != "write"
DECODE_ONLY = "--decode-only" in sys.argv
torch._dynamo.config.recompile_limit = 64  # one Flex compile per shape and mask; never fall back to eager
torch._dynamo.config.cache_size_limit = 64
flex = torch.compile(flex_attention, dynamic=False)


def block_mask_fn(*args, **kw):
    return create_block_mask(*args, **kw, _compile=True)  # deprecated flag, still the fast path in 2.11


def time_ms(fn, settle_ms=0.0):
    fn()
    torch.cuda.synchronize()
    spent = 0.0
    while spent < settle_ms:  # back to back first: the clocks of sustained load
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        spent += a.elapsed_time(b)
    times, total = [], 0.0
    while len(times) < 50 and (len(times) < 3 or total < 1000.0):
        if READ_FLUSH:
            flush_buf.view(torch.int32).max()
        else:
            flush_buf.zero_()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
        total += times[-1]
    times.sort()
    return times[len(times) // 2]


def visible_keys(W, S, p):
    """Visible keys of a prompt query at position p (W None = causal)."""
    if W is None:
        return p + 1
    wb = max(0, p - W + 1)
    return (p + 1 - wb) + min(S, wb)


def total_visible(W, S, L):
    p = torch.arange(L, dtype=torch.float64)
    if W is None:
        return float((p + 1).sum())
    wb = (p - W + 1).clamp(min=0)
    return float(((p + 1 - wb) + torch.minimum(wb, torch.full_like(wb, S))).sum())


def emit(**kw):
    print(json.dumps(kw), flush=True)


def swaa_mask(W, S, q_offset):
    def mask(b, h, q_idx, kv_idx):
        q = q_idx + q_offset
        causal = kv_idx <= q
        if W is None:
            return causal
        return causal & ((q - kv_idx < W) | (kv_idx < S))
    return mask


def prefill(L):
    q = torch.randn(1, H, L, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, KH, L, D, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(1, KH, L, D, device="cuda", dtype=torch.bfloat16)
    ke, ve = k.repeat_interleave(H // KH, dim=1), v.repeat_interleave(H // KH, dim=1)
    useful = lambda W, S: 4.0 * H * D * total_visible(W, S, L)
    for impl, backend in (("cudnn_sdpa", SDPBackend.CUDNN_ATTENTION), ("flash2_sdpa", SDPBackend.FLASH_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                ms = time_ms(lambda: F.scaled_dot_product_attention(q, ke, ve, is_causal=True))
            emit(impl=impl, op="prefill", mask="causal", len=L, ms=round(ms, 4),
                 tflops=round(useful(None, 0) / (ms * 1e-3) / 1e12, 1))
        except Exception as e:  # report, keep going
            emit(impl=impl, op="prefill", mask="causal", len=L, error=str(e)[:200])
    del ke, ve
    # Flex causal is left out: cuDNN is the causal peer, and each Flex shape costs a compile.
    for name, W, S in (("W2048_S0", 2048, 0), ("W2048_S100", 2048, 100)):
        try:
            bm = block_mask_fn(swaa_mask(W, S, 0), 1, 1, L, L, device="cuda")
            ms = time_ms(lambda: flex(q, k, v, block_mask=bm, enable_gqa=True))
            emit(impl="flex", op="prefill", mask=name, len=L, ms=round(ms, 4),
                 tflops=round(useful(W, S) / (ms * 1e-3) / 1e12, 1))
            del bm
        except Exception as e:
            emit(impl="flex", op="prefill", mask=name, len=L, error=str(e)[:200])


def decode(L, batch=8):
    q = torch.randn(batch, H, 1, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(batch, KH, L, D, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(batch, KH, L, D, device="cuda", dtype=torch.bfloat16)
    for name, W, S in (("causal", None, 0), ("W2048_S100", 2048, 100)):
        nbytes = batch * visible_keys(W, S, L - 1) * KH * D * 2 * 2
        if W is None:
            ke, ve = k.repeat_interleave(H // KH, dim=1), v.repeat_interleave(H // KH, dim=1)
            for impl, backend in (("cudnn_sdpa", SDPBackend.CUDNN_ATTENTION),
                                  ("flash2_sdpa", SDPBackend.FLASH_ATTENTION)):
                try:
                    with sdpa_kernel(backend):
                        ms = time_ms(lambda: F.scaled_dot_product_attention(q, ke, ve))
                    emit(impl=impl, op="decode", mask=name, len=L, batch=batch, ms=round(ms, 4),
                         gbps=round(nbytes / (ms * 1e-3) / 1e9))
                except Exception as e:
                    emit(impl=impl, op="decode", mask=name, len=L, error=str(e)[:200])
            del ke, ve
        if L not in (8192, 131072):  # each Flex shape costs a compile
            continue
        try:
            bm = block_mask_fn(swaa_mask(W, S, L - 1), None, None, 1, L, device="cuda")
            ms = time_ms(lambda: flex(q, k, v, block_mask=bm, enable_gqa=True))
            emit(impl="flex", op="decode", mask=name, len=L, batch=batch, ms=round(ms, 4),
                 gbps=round(nbytes / (ms * 1e-3) / 1e9))
        except Exception as e:
            emit(impl="flex", op="decode", mask=name, len=L, error=str(e)[:200])


def causal_ab():
    for L in (8192, 32768, 131072):
        q = torch.randn(1, H, L, D, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(1, H, L, D, device="cuda", dtype=torch.bfloat16)  # K/V expanded, as in prefill()
        v = torch.randn(1, H, L, D, device="cuda", dtype=torch.bfloat16)
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), settle_ms=2000.0)
        emit(impl="cudnn_sdpa", op="prefill", mask="causal", len=L, settled=True, ms=round(ms, 4),
             tflops=round(4.0 * H * D * total_visible(None, 0, L) / (ms * 1e-3) / 1e12, 1))
        del q, k, v
        torch.cuda.empty_cache()


def main():
    emit(device=torch.cuda.get_device_name(), torch=torch.__version__, flush="read" if READ_FLUSH else "write")
    if "--causal-ab" in sys.argv:
        causal_ab()
        return
    for L in ([] if DECODE_ONLY else [8192] if QUICK else [8192, 32768, 131072]):
        prefill(L)
        torch.cuda.empty_cache()
    for L in ([8192] if QUICK else [8192, 16384, 32768, 65536, 131072]):
        decode(L)
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
