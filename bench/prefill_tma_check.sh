#!/usr/bin/env bash
# The TMA prefill's GPU checks and its side-by-side table: the attention kernel tests (fp64 reference
# sweep, every kernel), compute-sanitizer memcheck and racecheck on the TMA kernel's quick sweep,
# bench/run_attention_bench.sh (our kernels and the PyTorch peers in one table), and ncu's view of
# the TMA kernel at 8k causal (tensor pipe, issue slots).
# Build here:  scripts/device_bundle.sh --targets "attention_bench attention_kernel_test"
# Run there:   bench/prefill_tma_check.sh "$OUT"     (carry .cache/devbundle; ~6 min)
set -uo pipefail
cd "$(dirname "$0")/.."
R=scripts/device_run.sh
O="${1:?usage: prefill_tma_check.sh OUT_DIR}"
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$O/log"; }
timeout 240 $R build-device/tests/kernels/attention_kernel_test >"$O/tests.log" 2>&1; el "attention_kernel_test rc $?"
grep -E "summary|FAILED|Failure|PASSED" "$O/tests.log" | head -30 | tee -a "$O/log"
for tool in memcheck racecheck; do
  SWAA_KERNEL_TEST_QUICK=1 timeout 150 $R compute-sanitizer --tool $tool --error-exitcode 9 \
    build-device/tests/kernels/attention_kernel_test --gtest_filter='*PrefillTma*' >>"$O/sanitizer.log" 2>&1
  el "$tool rc $?"; tail -3 "$O/sanitizer.log" | tee -a "$O/log"
done
timeout 200 $R build-device/bench/attention_bench >"$O/swaa.jsonl" 2>&1; el "attention_bench rc $?"
SWAA_JSON="$O/swaa.jsonl" OUTDIR="$O" timeout 300 bench/run_attention_bench.sh >"$O/table.txt" 2>&1
el "run_attention_bench (peers, table) rc $?"
timeout 60 $R ncu --kernel-name regex:prefill_tma --launch-skip 1 --launch-count 1 --metrics \
  gpu__time_duration.sum,sm__pipe_tensor_op_gmma_cycles_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active,sm__warps_active.avg.per_cycle_active \
  build-device/bench/attention_bench --once >"$O/ncu.txt" 2>&1
el "ncu rc $?"
el end
