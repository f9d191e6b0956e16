#!/usr/bin/env bash
# One GPU call for the landed TMA prefill: the attention kernel tests (every kernel against the fp64
# reference), with SANITIZE=1 memcheck and racecheck on the TMA kernel's quick sweep,
# attention_bench's prefill rows (peers: bench/run_attention_bench.sh), then
# bench/run_engine_bench.sh (GPU e2e tests, the issue's TTFT / decode table on the
# Qwen3-4B-shaped checkpoint).
# Build here:  scripts/device_bundle.sh --targets "swaa make_random_model attention_bench attention_kernel_test e2e_cuda_test"
# Run there:   bench/prefill_tma_final.sh "$OUT"     (carry .cache/devbundle; ~5 min)
set -uo pipefail
cd "$(dirname "$0")/.."
R=scripts/device_run.sh
O="${1:?usage: prefill_tma_final.sh OUT_DIR}"
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$O/log"; }
timeout 120 $R build-device/tests/kernels/attention_kernel_test >"$O/tests.log" 2>&1; el "attention_kernel_test rc $?"
grep -E "summary|FAILED|Failure|PASSED" "$O/tests.log" | head -30 | tee -a "$O/log"
if [ "${SANITIZE:-0}" = 1 ]; then
  for tool in memcheck racecheck; do
    SWAA_KERNEL_TEST_QUICK=1 timeout 90 $R compute-sanitizer --tool $tool --error-exitcode 9 \
      build-device/tests/kernels/attention_kernel_test --gtest_filter='*PrefillTma*' >>"$O/tests.log" 2>&1
    el "$tool rc $?"
  done
fi
timeout 150 $R build-device/bench/attention_bench --prefill >"$O/swaa.jsonl" 2>&1; el "attention_bench rc $?"
$R env SWAA_SKIP_BUILD=1 SWAA_BUILD_DIR=/tmp/swaa-src/build-device timeout 280 bench/run_engine_bench.sh "$O/engine" \
  >"$O/engine.txt" 2>&1
el "run_engine_bench rc $?"
el end
