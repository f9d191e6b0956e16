#!/usr/bin/env bash
# Full causal prefill, swaa's TMA kernel against cuDNN SDPA, alternated: ROUNDS x (attention_bench
# --causal-ab, then attention_peers.py --causal-ab), each implementation timed after 2 s of
# back-to-back runs, so both are measured at the clocks of sustained load and neither gets the
# boost a cool card gives whatever runs first. Prints every round and the median per length.
# PASSES (default 1): attention_bench's rows that many times per length and round, each pass starting
# one row later (the first row of a length has read low at 8k; bench/attention_notes.md).
# Usage: BENCH_BIN=path/to/attention_bench bench/run_causal_ab.sh [ROUNDS] [PASSES] (default 3, 1;
# GPU machine)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
passes=${2:-1}
bin=${BENCH_BIN:-build-cuda/bench/attention_bench}
out=$(mktemp)
for r in $(seq "$rounds"); do
  "$bin" --causal-ab "$passes" | sed "s/^{/{\"round\":$r,/" | grep '"impl"' | tee -a "$out"
  python3 bench/attention_peers.py --causal-ab | sed "s/^{/{\"round\":$r,/" | grep '"impl"' | tee -a "$out"
  nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu --format=csv,noheader || true
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nFull causal prefill, settled, TFLOP/s by round and pass (median):")
impls = list(dict.fromkeys(r["impl"] for r in rows))
print("| len | " + " | ".join(impls) + " |\n|---|" + "---|" * len(impls))
for L in sorted({r["len"] for r in rows}):
    cells = []
    for impl in impls:
        v = [r["tflops"] for r in rows if r["len"] == L and r["impl"] == impl]
        cells.append(" / ".join(f"{x:g}" for x in v) + (f" (**{statistics.median(v):g}**)" if v else ""))
    print(f"| {L} | " + " | ".join(cells) + " |")
PY
rm -f "$out"
