#!/usr/bin/env python3
"""PyTorch peer of bench/draw_bench: one decode step's token draws from rows of 151936 logits,
as Transformers and vLLM's PyTorch fallback do them: softmax(logits / T), sort descending, top-k
and top-p masks on the sorted probabilities (cumsum), min-p, renormalise, torch.multinomial, the
token ids gathered back. Same rows (N(0, 4) peaked, N(0, 0.05) flat), row counts and settings;
CUDA events, median of 50, no flush (the logits are in L2 or HBM as after the lm_head GEMM).
Output: CSV rows,scale,setting,torch_us (the header first)."""
import torch

VOCAB = 151936
SETTINGS = [("T=1", 1.0, 1.0, 0.0, 0), ("T=0.7 top_p=0.9", 0.7, 0.9, 0.0, 0),
            ("T=0.7 top_k=50 top_p=0.95", 0.7, 0.95, 0.0, 50), ("T=1 min_p=0.05", 1.0, 1.0, 0.05, 0)]


def draw(logits, temperature, top_p, min_p, top_k):
    probs = torch.softmax(logits / temperature, dim=-1)
    sorted_p, ids = torch.sort(probs, dim=-1, descending=True)
    keep = torch.ones_like(sorted_p, dtype=torch.bool)
    if top_k > 0:
        keep[:, top_k:] = False
    if top_p < 1.0:
        before = torch.cumsum(sorted_p, dim=-1) - sorted_p  # mass ranked before each token
        keep &= before < top_p
    if min_p > 0.0:
        keep &= sorted_p >= min_p * sorted_p[:, :1]
    sorted_p = torch.where(keep, sorted_p, torch.zeros_like(sorted_p))
    pick = torch.multinomial(sorted_p, 1)
    return ids.gather(-1, pick).squeeze(-1)


def median_us(fn):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(50):
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop) * 1000)
    return sorted(times)[len(times) // 2]


def main():
    torch.manual_seed(1)
    print("rows,scale,setting,torch_us", flush=True)
    for scale in (4.0, 0.05):
        logits = torch.randn(64, VOCAB, device="cuda") * scale
        for rows in (1, 8, 16, 32, 64):
            x = logits[:rows].contiguous()
            for name, t, p, mp, k in SETTINGS:
                draw(x, t, p, mp, k)  # warm up
                print(f"{rows},{scale:g},{name},{median_us(lambda: draw(x, t, p, mp, k)):.1f}", flush=True)


if __name__ == "__main__":
    main()
