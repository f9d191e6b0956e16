#!/usr/bin/env bash
# Runs bench/attention_bench (our kernels) and bench/attention_peers.py (PyTorch peers) on the GPU
# machine and prints one side-by-side table.
# Usage: bench/run_attention_bench.sh [--quick] [--decode-only]   (both passed to both programs)
# Env: BENCH_BIN=path to a prebuilt attention_bench (else builds build-cuda/ with -DSWAA_CUDA_ARCHS=90a);
#      OUTDIR=where the JSON lines go (default build-cuda/bench-out);
#      SWAA_JSON=reuse this attention_bench output instead of running it again;
#      SWAA_BENCH_FLUSH=write: the L2 flush of both programs is a memset (default: a read; see
#      attention_bench.cu, Flush).
set -euo pipefail
cd "$(dirname "$0")/.."
ARGS=("$@")
OUTDIR=${OUTDIR:-build-cuda/bench-out}
mkdir -p "$OUTDIR"
if [[ -n "${SWAA_JSON:-}" ]]; then
  [[ "$SWAA_JSON" == "$OUTDIR/swaa.jsonl" ]] || cp "$SWAA_JSON" "$OUTDIR/swaa.jsonl"
elif [[ -z "${BENCH_BIN:-}" ]]; then
  cmake -S . -B build-cuda -G Ninja -DSWAA_CUDA=ON -DSWAA_CUDA_ARCHS=90a >/dev/null
  cmake --build build-cuda --target attention_bench -j16
  BENCH_BIN=build-cuda/bench/attention_bench
fi
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw --format=csv,noheader || true
[[ -n "${SWAA_JSON:-}" ]] || "$BENCH_BIN" "${ARGS[@]}" | tee "$OUTDIR/swaa.jsonl"
PYTHONUNBUFFERED=1 python3 bench/attention_peers.py "${ARGS[@]}" | tee "$OUTDIR/peers.jsonl"
python3 - "$OUTDIR/swaa.jsonl" "$OUTDIR/peers.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for f in sys.argv[1:] for l in open(f) if l.startswith("{")]
dev = next((r["device"] for r in rows if "device" in r), "?")
pre = {(r["impl"], r["mask"], r["len"]): r for r in rows if r.get("op") == "prefill"}
dec = {}
for r in rows:
    if r.get("op") == "decode" and r.get("heuristic", True):
        dec[(r["impl"], r["mask"], r["len"])] = r
impls = ["swaa", "swaa_sm90", "swaa_tma", "swaa_tma_perm", "cudnn_sdpa", "flash2_sdpa", "flex"]
def cell(r, key):
    if r is None: return "-"
    if "error" in r: return "error"
    return f"{r[key]:g} ({r['ms']:.3g} ms)"
flush = next((r["flush"] for r in rows if "flush" in r), "?")
print(f"\nAttention on {dev}: 32 query heads, 8 KV heads, D=128, bf16; CUDA events, L2 flushed ({flush}), median.")
print("Prefill, one sequence, useful TFLOP/s = 4*H*D*sum(visible keys) / time (roofline ~790 dense bf16):")
print("| len | mask | " + " | ".join(impls) + " |")
print("|---|---|" + "---|" * len(impls))
for L in sorted({k[2] for k in pre}):
    for m in ("causal", "W2048_S0", "W2048_S100"):
        print(f"| {L} | {m} | " + " | ".join(cell(pre.get((i, m, L)), "tflops") for i in impls) + " |")
print("\nDecode, batch 8, one generated token per sequence, GB/s of unique KV read (8 KV heads; SDPA peers")
print("read K/V expanded to 32 heads, 4x these bytes); roofline ~4300 GB/s:")
print("| len | mask | " + " | ".join(impls) + " |")
print("|---|---|" + "---|" * len(impls))
for L in sorted({k[2] for k in dec}):
    for m in ("causal", "W2048_S100"):
        cells = []
        for i in impls:
            r = dec.get((i, m, L))
            c = cell(r, "gbps")
            if r is not None and "splits" in r: c += f" s={r['splits']}"
            cells.append(c)
        print(f"| {L} | {m} | " + " | ".join(cells) + " |")
ab = ["swaa_tma_tile", "swaa_tma_persist"]
if any(k[0] in ab for k in pre):
    print("\nTMA prefill CTA schedules, TFLOP/s (swaa_tma above runs prefill_tma_schedule's choice):")
    for L in sorted({k[2] for k in pre}):
        for m in ("causal", "W2048_S0", "W2048_S100"):
            print(f"  {L} {m}: " + ", ".join(f"{i.removeprefix('swaa_tma_')} {cell(pre.get((i, m, L)), 'tflops')}" for i in ab))
sweep = [r for r in rows if r.get("op") == "decode" and r.get("impl") == "swaa"]
if sweep:
    print("\nswaa decode split sweep (GB/s by splits):")
    for L in sorted({r["len"] for r in sweep}):
        for m in ("causal", "W2048_S100"):
            s = sorted((r["splits"], r["gbps"]) for r in sweep if r["len"] == L and r["mask"] == m)
            if s: print(f"  {L} {m}: " + ", ".join(f"{a}:{b}" for a, b in s))
EOF
