"""End-to-end long-prompt benchmark, swaa side by side with what a user can assemble from PyTorch
today, on the same checkpoint and prompt lengths (GPU machine):

- swaa: `swaa bench --device cuda` (SWAA_BIN, e.g. build-device/swaa via scripts/device_run.sh);
- Transformers 5 with SDPA (full causal attention: cuDNN / flash kernels);
- Transformers 5 with swaa.hf on FlexAttention (the same SWAA masks, block-sparse, compiled).

Times to first token (one prefill of the prompt, logits of the last position only) and decode
tokens/s at batch 1 (greedy, KV cache) for every prompt length and SWAA configuration, then decode
tokens/s at batch 32 (--batch32-len prompts); one table of markdown and one JSON line per run.

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
import traceback

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

CONFIGS = {
    "full": None,
    "W2048": {"sliding_window_size": 2048},
    "W2048_S100_FA": {"sliding_window_size": 2048, "keep_first": 100, "force_fa_decode": True},
    "W2048_S100_FA_odd": {"sliding_window_size": 2048, "keep_first": 100, "force_fa_decode": True,
                          "non_sliding_layers": "odd"},
}


def resolve(cfg, num_layers):
    """The config with "odd" non-sliding layers spelled out for this model."""
    if cfg is None or cfg.get("non_sliding_layers") != "odd":
        return cfg
    return {**cfg, "non_sliding_layers": list(range(1, num_layers, 2))}


def swaa_flags(cfg):
    if cfg is None:
        return []
    flags = ["--sliding-window-size", str(cfg["sliding_window_size"])]
    if cfg.get("keep_first"):
        flags += ["--keep-first", str(cfg["keep_first"])]
    if cfg.get("force_fa_decode"):
        flags += ["--force-fa-decode", "true"]
    if cfg.get("non_sliding_layers"):
        flags += ["--non-sliding-layers", ",".join(map(str, cfg["non_sliding_layers"]))]
    return flags


def run_swaa(binary, model, length, gen, cfg, batch=1):
    cmd = [binary, "bench", "-m", model, "--device", "cuda", "--prompt-len", str(length), "--gen-len", str(gen),
           "--batch", str(batch), "--kv-cache-gib", "60", "--max-num-batched-tokens", "16384",
           # one untimed batch first, as run_hf times Transformers' second call
           "--warmup", "1",
           # the random checkpoints say max_position_embeddings 65536: room for 128k prompts
           "--max-model-len", str(length + gen), "--json"] + swaa_flags(cfg)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-300:]}
    j = json.loads(r.stdout[r.stdout.index("{"):])
    return {"ttft_s": j["time_to_first_token_mean_s"], "decode_tok_s": j["decode_tokens_per_second"],
            # the steps in which the whole batch decodes (batch 32: before the first request ends)
            "decode_full_batch_tok_s": j.get("decode_full_batch_tokens_per_second"),
            "peak_kv_gib": j["peak_kv_bytes"] / 2**30}


def run_hf(model, length, gen, cfg, backend, batch=1):
    import swaa.hf
    if cfg is None:
        model.set_attn_implementation("sdpa")
    else:
        swaa.hf.apply(model, cfg, backend=backend)
    torch.manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (batch, length), device="cuda")
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
    return {"ttft_s": times[-1], "decode_tok_s": batch * gen / dec,
            "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--lengths", default="32768,131072")
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--out", default="e2e_peers.jsonl")
    ap.add_argument("--skip-hf-full-above", type=int, default=200000, help="skip Transformers full attention above this length")
    ap.add_argument("--no-transformers", action="store_true", help="swaa rows only")
    ap.add_argument("--batch32-len", type=int, default=8192, help="prompt length of the batch-32 decode runs (0: none)")
    a = ap.parse_args()
    binary = os.environ.get("SWAA_BIN")
    import transformers
    layers = transformers.AutoConfig.from_pretrained(a.model).num_hidden_layers
    jobs = []  # (length, batch, config name, config); batch 32 after the first length, before the long ones
    for i, length in enumerate(map(int, a.lengths.split(","))):
        jobs += [(length, 1, name, resolve(cfg, layers)) for name, cfg in CONFIGS.items()]
        if i == 0 and a.batch32_len:
            jobs += [(a.batch32_len, 32, name, resolve(cfg, layers)) for name, cfg in CONFIGS.items()]
    rows = []
    f = open(a.out, "a")

    def record(system, name, length, batch, fn):
        try:
            r = fn()
        except Exception as e:  # keep the other rows (OOM at 128k, say)
            # where it failed too (the last frames): Flex with FA decode ran out of memory at 32k
            # somewhere in a step, and the message alone did not say which call asked for 128 GiB
            r = {"error": repr(e)[:300], "where": traceback.format_exc()[-1500:]}
            torch.cuda.empty_cache()
        rec = {"system": system, "config": name, "prompt": length, "batch": batch, **r}
        rows.append(rec)
        f.write(json.dumps(rec) + "\n")
        f.flush()
        print(json.dumps(rec), flush=True)

    # swaa first, in its own processes, while this one holds no GPU memory; then Transformers.
    if binary:
        for length, batch, name, cfg in jobs:
            record("swaa", name, length, batch, lambda: run_swaa(binary, a.model, length, a.gen, cfg, batch))
    if not a.no_transformers:
        model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).cuda().eval()
        for length, batch, name, cfg in jobs:
            if cfg is None and length <= a.skip_hf_full_above:
                record("transformers-sdpa", name, length, batch, lambda: run_hf(model, length, a.gen, None, "sdpa", batch))
            elif cfg is not None and batch == 1:
                record("transformers-flex+swaa.hf", name, length, batch, lambda: run_hf(model, length, a.gen, cfg, "flex"))
    print("\n| prompt | batch | config | system | TTFT s | decode tok/s | memory GiB |\n|---|---|---|---|---:|---:|---:|")
    for r in rows:
        mem = r.get("peak_kv_gib", r.get("peak_mem_gib"))
        print(f"| {r['prompt']} | {r['batch']} | {r['config']} | {r['system']} | "
              + (f"{r['ttft_s']:.3f} | {r['decode_tok_s']:.1f} | {mem:.2f} |" if "error" not in r else f"error: {r['error'][:80]} | | |"))


if __name__ == "__main__":
    main()
