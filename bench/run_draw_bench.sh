#!/usr/bin/env bash
# Runs bench/draw_bench (cuda::draw_rows, the argmax kernel, the logits' copy to the host) and
# bench/draw_peers.py (PyTorch's sort-based sampling) on the GPU machine and prints one table.
# Env: BENCH_BIN=path to a prebuilt draw_bench (else builds build-cuda/ with -DSWAA_CUDA_ARCHS=90a).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${BENCH_BIN:-}" ]]; then
  cmake -S . -B build-cuda -G Ninja -DSWAA_CUDA=ON -DSWAA_CUDA_ARCHS=90a >/dev/null
  cmake --build build-cuda --target draw_bench -j16
  BENCH_BIN=build-cuda/bench/draw_bench
fi
ours=$(mktemp) peers=$(mktemp)
"$BENCH_BIN" --csv >"$ours"
python3 bench/draw_peers.py >"$peers"
python3 - "$ours" "$peers" <<'PY'
import csv, sys
ours = {(r["rows"], r["scale"], r["setting"]): r for r in csv.DictReader(open(sys.argv[1]))}
peers = {(r["rows"], r["scale"], r["setting"]): r for r in csv.DictReader(open(sys.argv[2]))}
print("| logits | rows | setting | swaa draw_rows (us) | PyTorch sort + multinomial (us) | argmax kernel (us) | copy rows to host (us) |")
print("|---|---|---|---|---|---|---|")
for key, r in ours.items():
    p = peers.get(key, {}).get("torch_us", "-")
    kind = "peaked N(0, 4)" if r["scale"] == "4" else f"flat N(0, {r['scale']})"
    print(f"| {kind} | {r['rows']} | {r['setting']} | {r['draw_us']} | {p} | {r['argmax_us']} | {r['copy_to_host_us']} |")
PY
rm -f "$ours" "$peers"
