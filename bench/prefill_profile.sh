#!/usr/bin/env bash
# Where the full causal TMA prefill's time goes (the 8k gap to cuDNN, bench/attention_notes.md):
#  1. attention_bench --trace: per query tile, clock cycles of each phase (Q copy, first scores,
#     the overlapped tile loop, the last P V, the O store, between items) and the grid's tail, at 8k
#     persistent and per tile, and 32k per tile, the default kernel and the plain one (early setup
#     and the TMA store of O off; prefill_trace.h prints the fields). The traced instantiation is
#     the kernel whose consumers set up each item (SWAA_PREFILL_PREPARED=0), not the engine's default.
#  2. Nsight Compute's warp-state sampling of the 8k causal launch of attention_bench --once (the
#     second TMA prefill it makes), per instruction of the SASS view (the CUDA view of the H200's
#     ncu has no sampling columns): the instructions whose warps are stalled most, and why.
# Usage: BENCH_BIN=path/to/attention_bench bench/prefill_profile.sh [OUT_DIR]   (GPU machine)
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-build-cuda/bench/attention_bench}
out=${1:-prefill-profile}
mkdir -p "$out"
for shape in "8192 persistent" "8192 tile" "32768 tile"; do
  # shellcheck disable=SC2086
  "$bin" --trace $shape | tee -a "$out/trace.txt"
  # shellcheck disable=SC2086
  SWAA_PREFILL_EARLY_SETUP=0 SWAA_PREFILL_TMA_STORE=0 "$bin" --trace $shape |
    sed 's/^{"trace"/{"plain":true,"trace"/' | tee -a "$out/trace.txt"
done
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
if ! "$ncu" --version >/dev/null 2>&1; then
  echo "prefill_profile: no ncu here, skipping the stall sampling"
  exit 0
fi
"$ncu" --clock-control none -k regex:'prefill_(tma|prepared)_kernel' --launch-skip 1 --launch-count 1 \
  --section WarpStateStats --section SourceCounters --import-source yes -f -o "$out/causal8k" \
  "$bin" --once >"$out/ncu.log" 2>&1 || { tail -20 "$out/ncu.log"; exit 1; }
"$ncu" -i "$out/causal8k.ncu-rep" --page details --section WarpStateStats >"$out/warp_state.txt" 2>&1
grep -iE "stall|warp cycles|issued" "$out/warp_state.txt" | head -30
# The per-line export: the CUDA view printed only the source text on the H200's ncu (2026-12-03),
# so the SASS view (per instruction, with its metrics) is exported too; the summary reads whichever
# has the sampling columns.
for view in cuda sass; do
  "$ncu" -i "$out/causal8k.ncu-rep" --page source --csv --print-source "$view" >"$out/source_$view.csv" \
    2>"$out/source_$view.err" || tail -5 "$out/source_$view.err"
done
python3 - "$out/source_cuda.csv" "$out/source_sass.csv" <<'PY'
import csv, sys
for path in sys.argv[1:]:
    rows = list(csv.reader(open(path, errors="replace")))
    head = next((i for i, r in enumerate(rows) if any("Sampling" in c for c in r)), None)
    if head is not None:
        break
    print("no sampling columns in", path)
if head is None:
    print("\n".join(",".join(r) for r in rows[:5])); sys.exit(0)
cols = rows[head]
def col(name):
    return next((i for i, c in enumerate(cols) if name in c), None)
src, samples = col("Source"), col("Warp Stall Sampling (All")
line = next((c for c in (col("#"), col("Line"), col("Address")) if c is not None), None)
data = [r for r in rows[head + 1:] if len(r) == len(cols)]
def num(s):
    try: return float(s.replace(",", ""))
    except ValueError: return 0.0
total = sum(num(r[samples]) for r in data) or 1
print(f"warp stall samples by source line (top 25 of {len(data)}, {total:.0f} samples):")
for r in sorted(data, key=lambda r: -num(r[samples]))[:25]:
    print(f"{100 * num(r[samples]) / total:5.1f}%  {r[line] if line is not None else '':>5}  {r[src].strip()[:110]}")
PY
