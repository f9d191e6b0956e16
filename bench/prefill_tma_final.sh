#!/usr/bin/env bash
# One GPU call for the landed TMA prefill: the attention kernel tests (every kernel against the fp64
# reference), with SANITIZE=1 memcheck and racecheck on the TMA kernel's quick sweep,
# attention_bench's prefill rows (peers: bench/run_attention_bench.sh), then
# bench/run_engine_bench.sh (GPU e2e tests, the issue's TTFT / decode table on the
# Qwen3-4B-shaped checkpoint; LEAN=1: the e2e tests and four of its rows; LEAN=2: the e2e
# tests alone).
# Build here:  scripts/device_bundle.sh --targets "swaa make_random_model attention_bench attention_kernel_test ops_kernel_test e2e_cuda_test"
# Run there:   bench/prefill_tma_final.sh "$OUT"     (carry .cache/devbundle; ~5 min)
set -uo pipefail
cd "$(dirname "$0")/.."
R=scripts/device_run.sh
O="${1:?usage: prefill_tma_final.sh OUT_DIR}"
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*" | tee -a "$O/log"; }
timeout 120 $R build-device/tests/kernels/attention_kernel_test >"$O/tests.log" 2>&1; el "attention_kernel_test rc $?"
grep -E "summary|FAILED|Failure|PASSED" "$O/tests.log" | head -30 | tee -a "$O/log"
timeout 30 $R build-device/tests/kernels/ops_kernel_test --gtest_filter='Wgmma*' >>"$O/tests.log" 2>&1
el "ops_kernel_test Wgmma rc $?"
if [ "${SANITIZE:-0}" = 1 ]; then
  for tool in memcheck racecheck; do
    SWAA_KERNEL_TEST_QUICK=1 timeout 90 $R compute-sanitizer --tool $tool --error-exitcode 9 \
      build-device/tests/kernels/attention_kernel_test --gtest_filter='*PrefillTma*' >>"$O/tests.log" 2>&1
    el "$tool rc $?"
  done
fi
if [ "${LEAN:-0}" = 2 ]; then  # least device time: the e2e tests, then the prefill rows, no engine rows
  timeout 90 $R build-device/tests/e2e/e2e_cuda_test >"$O/e2e.log" 2>&1; el "e2e_cuda_test rc $?"
  grep -E "^\[  (PASSED|FAILED)" "$O/e2e.log" | tee -a "$O/log"
fi
timeout 150 $R build-device/bench/attention_bench --prefill >"$O/swaa.jsonl" 2>&1; el "attention_bench rc $?"
if [ "${LEAN:-0}" = 2 ]; then
  :
elif [ "${LEAN:-0}" = 1 ]; then  # little device time left: e2e tests, full and W = 2048 at 32k and 128k
  timeout 90 $R build-device/tests/e2e/e2e_cuda_test >"$O/e2e.log" 2>&1; el "e2e_cuda_test rc $?"
  grep -E "^\[  (PASSED|FAILED)" "$O/e2e.log" | tee -a "$O/log"
  M=/tmp/q4b
  timeout 100 $R build-device/tests/make_random_model $M --type qwen3 --vocab 151936 --hidden 2560 --layers 36 \
    --heads 32 --kv-heads 8 --head-dim 128 --intermediate 9728 --fast-init true >/dev/null 2>>"$O/log"
  for len in 32768 131072; do
    for cfg in "" "--sliding-window-size 2048"; do
      timeout 60 $R build-device/swaa bench -m $M --device cuda --prompt-len $len --gen-len 32 --batch 1 --kv-cache-gib 60 \
        --max-num-batched-tokens 16384 --max-model-len $((len + 32)) --warmup 1 --json $cfg 2>>"$O/log" >>"$O/engine.jsonl"
      el "swaa bench $len $cfg rc $?"
    done
  done
else
  $R env SWAA_SKIP_BUILD=1 SWAA_BUILD_DIR=/tmp/swaa-src/build-device timeout 280 bench/run_engine_bench.sh "$O/engine" \
    >"$O/engine.txt" 2>&1
  el "run_engine_bench rc $?"
fi
el end
