"""End-to-end long-prompt benchmark, swaa side by side with what a user can assemble from PyTorch
today, on the same checkpoint and prompt lengths (GPU machine):

- swaa: `swaa bench --device cuda` (SWAA_BIN, e.g. build-device/swaa via scripts/device_run.sh);
- Transformers 5 with SDPA (full causal attention: cuDNN / flash kernels);
- Transformers 5 with swaa.hf on FlexAttention (the same SWAA masks, block-sparse, compiled).

Times to first token (one prefill of the prompt, logits of the last position only) and decode
tokens/s at batch 1 (greedy, KV cache), one table of markdown and one JSON line per run.

    SWAA_BIN=build-device/swaa python3 bench/e2e_peers.py --model /tmp/swaa-qwen3-4b-random \\
        --lengths 32768,131072 --out bench-out/e2e_peers.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

CONFIGS = {
    "full": None,
    "W2048": {"sliding_window_size": 2048},
    "W2048_S100_FA": {"sliding_window_size": 2048, "keep_first": 100, "force_fa_decode": True},
}


def swaa_flags(cfg):
    if cfg is None:
        return []
    flags = ["--sliding-window-size", str(cfg["sliding_window_size"])]
    if cfg.get("keep_first"):
        flags += ["--keep-first", str(cfg["keep_first"])]
    if cfg.get("force_fa_decode"):
        flags += ["--force-fa-decode", "true"]
    return flags


def run_swaa(binary, model, length, gen, cfg):
    cmd = [binary, "bench", "-m", model, "--device", "cuda", "--prompt-len", str(length), "--gen-len", str(gen),
           "--batch", "1", "--kv-cache-gib", "60", "--max-num-batched-tokens", "16384", "--json"] + swaa_flags(cfg)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-300:]}
    j = json.loads(r.stdout[r.stdout.index("{"):])
    return {"ttft_s": j["time_to_first_token_mean_s"], "decode_tok_s": j["decode_tokens_per_second"],
            "peak_kv_gib": j["peak_kv_bytes"] / 2**30}


def run_hf(model, length, gen, cfg, backend):
    import swaa.hf
    if cfg is None:
        model.set_attn_implementation("sdpa")
    else:
        swaa.hf.apply(model, cfg, backend=backend)
    torch.manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (1, length), device="cuda")
    torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.no_grad():
        for _ in range(2):  # the first call compiles / warms up
            torch.cuda.synchronize()
            t = time.perf_counter()
            out = model(ids, use_cache=True, logits_to_keep=1)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        cache = out.past_key_values
        nxt = out.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(gen):
            out = model(nxt, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            nxt = out.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        dec = time.perf_counter() - t
    return {"ttft_s": times[-1], "decode_tok_s": gen / dec, "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--lengths", default="32768,131072")
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--out", default="e2e_peers.jsonl")
    ap.add_argument("--skip-hf-full-above", type=int, default=200000, help="skip Transformers full attention above this length")
    a = ap.parse_args()
    binary = os.environ.get("SWAA_BIN")
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).cuda().eval()
    rows = []
    with open(a.out, "a") as f:
        for length in map(int, a.lengths.split(",")):
            for name, cfg in CONFIGS.items():
                runs = []
                if binary:
                    runs.append(("swaa", lambda: run_swaa(binary, a.model, length, a.gen, cfg)))
                if cfg is None:
                    if length <= a.skip_hf_full_above:
                        runs.append(("transformers-sdpa", lambda: run_hf(model, length, a.gen, None, "sdpa")))
                else:
                    runs.append(("transformers-flex+swaa.hf", lambda: run_hf(model, length, a.gen, cfg, "flex")))
                for system, fn in runs:
                    try:
                        r = fn()
                    except Exception as e:  # keep the other rows (OOM at 128k, say)
                        r = {"error": repr(e)[:300]}
                        torch.cuda.empty_cache()
                    rec = {"system": system, "config": name, "prompt": length, **r}
                    rows.append(rec)
                    f.write(json.dumps(rec) + "\n")
                    f.flush()
                    print(json.dumps(rec), flush=True)
    print("\n| prompt | config | system | TTFT s | decode tok/s | memory GiB |\n|---|---|---|---:|---:|---:|")
    for r in rows:
        mem = r.get("peak_kv_gib", r.get("peak_mem_gib"))
        print(f"| {r['prompt']} | {r['config']} | {r['system']} | "
              + (f"{r['ttft_s']:.3f} | {r['decode_tok_s']:.1f} | {mem:.2f} |" if "error" not in r else f"error: {r['error'][:80]} | | |"))


if __name__ == "__main__":
    main()
