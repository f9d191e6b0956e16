#!/usr/bin/env bash
# Every GPU check in one go, for the GPU machine (one call of the device tool): the CUDA ctest label,
# compute-sanitizer memcheck/racecheck on the kernel tests (quick sweep; racecheck on the
# short-window and Hopper cases), the Python tests of
# python/ (the training op, swaa.hf against the C++ engine), the training-attention benchmark, and
# the inference attention benchmark when the bundle has bench/attention_bench (Hopper prefill row).
# Logs go to OUT_DIR, one per step, plus summary.txt; the exit status is that of the first failure.
#
#   scripts/device_bundle.sh --targets "swaa attention_kernel_test attention_train_test ops_kernel_test \
#     e2e_cuda_test attention_bench make_random_model"                                     # dev machine
#     (59 of the 64 MiB a device call carries, with the reference BLAS standing in for OpenBLAS)
#   scripts/gpu_checks.sh OUT_DIR [--no-bench] [--no-sanitizer]                            # GPU machine
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: gpu_checks.sh OUT_DIR [--no-bench] [--no-sanitizer]}"
shift
bench=1 sanitizer=1
for a in "$@"; do
  case "$a" in
    --no-bench) bench=0 ;;
    --no-sanitizer) sanitizer=0 ;;
    *) echo "gpu_checks: unknown option $a" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
cd "$repo"
run="scripts/device_run.sh"
status=0
step() {  # name, command...
  local name="$1" start rc
  shift
  start=$(date +%s)
  "$@" >"$out/$name.log" 2>&1
  rc=$?
  printf '%-22s rc %-3s %4s s\n' "$name" "$rc" "$(( $(date +%s) - start ))" | tee -a "$out/summary.txt"
  [ "$rc" = 0 ] || [ "$status" != 0 ] || status=$rc
}
step ctest_cuda "$run" ctest --test-dir /tmp/swaa-src/build-device -L cuda --output-on-failure
if [ "$sanitizer" = 1 ]; then
  cs="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
  for t in attention_kernel_test attention_train_test ops_kernel_test moe_kernel_test; do
    bin="build-device/tests/kernels/$t"
    [ -x "$bin" ] || { echo "gpu_checks: $bin not in the bundle, skipped" | tee -a "$out/summary.txt"; continue; }
    step "memcheck_$t" env SWAA_KERNEL_TEST_QUICK=1 timeout 300 "$run" "$cs" --tool memcheck --error-exitcode 9 "$bin"
    # Racecheck is slow on the attention sweeps: their short-window and Hopper cases only; every op test.
    filter='*ShortWindow*:*Sm90*'
    case "$t" in ops_kernel_test | moe_kernel_test) filter="*" ;; esac
    step "racecheck_$t" env SWAA_KERNEL_TEST_QUICK=1 timeout 300 "$run" "$cs" --tool racecheck --error-exitcode 9 \
      "$bin" --gtest_filter="$filter"
  done
fi
step python_train_op python3 -m unittest -v python/tests/test_train_op.py
step python_hf env SWAA_BIN=build-device/swaa "$run" python3 -m unittest -v python/tests/test_hf.py python/tests/test_mask.py
[ "$bench" = 0 ] || step train_attention_bench python3 bench/train_attention_peers.py
if [ "$bench" = 1 ] && [ -x build-device/bench/attention_bench ]; then
  wrap="$out/attention_bench.sh"  # run_attention_bench.sh takes one executable path
  printf '#!/bin/sh\nexec %s/%s %s/build-device/bench/attention_bench "$@"\n' "$repo" "$run" "$repo" >"$wrap"
  chmod +x "$wrap"
  step attention_bench env BENCH_BIN="$wrap" OUTDIR="$out/attention_bench" bench/run_attention_bench.sh --quick
fi
exit "$status"
