#!/usr/bin/env bash
# Whether the TMA prefill's CTA schedules differ in L2 locality on long full causal prompts
# (bench/attention_notes.md, "persistent at 128k is fragile"): Nsight Compute's duration, L2 hit
# rate and DRAM bytes read of one 128k launch (attention_bench --prefill-once) per schedule. The
# settled timing of the same schedules: run_causal_ab.sh. (It also measured a head-major persistent
# order, since removed: bench/attention_notes.md, "The L2 guess".)
# Usage: BENCH_BIN=path/to/attention_bench bench/prefill_l2.sh [OUT_DIR] [LEN]   (GPU machine)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
bin=${BENCH_BIN:-build-cuda/bench/attention_bench}
out=${1:-prefill-l2}
len=${2:-131072}
mkdir -p "$out"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
metrics=gpu__time_duration.sum,lts__t_sector_hit_rate.pct,dram__bytes_read.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed
for sched in tile persistent; do
  SWAA_PREFILL_SCHEDULE=$sched "$ncu" --clock-control none --cache-control all -k regex:'prefill_(tma|prepared)_kernel' \
    --metrics "$metrics" --csv "$bin" --prefill-once "$len" >"$out/ncu_$sched.csv" 2>"$out/ncu_$sched.err" ||
    { echo "prefill_l2: ncu failed for $sched"; tail -5 "$out/ncu_$sched.err"; continue; }
  echo "== $sched, full causal $len"
  grep -E "gpu__time_duration|lts__t_sector_hit_rate|dram__bytes_read|sm__throughput" "$out/ncu_$sched.csv" |
    awk -F'","' '{gsub(/"/, "", $NF); print "  " $(NF-2) " (" $(NF-1) "): " $NF}'
done
