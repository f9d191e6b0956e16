#!/usr/bin/env bash
# End-to-end GPU check and benchmark (issue 7): builds with CUDA, runs the GPU e2e tests, then times
# `swaa bench --device cuda` on a random Qwen3-4B-shaped checkpoint (36 layers, hidden 2560, 32/8
# heads, head dim 128) for full attention and the SWAA configurations of the paper's speed table,
# each after one untimed request of the same shape (--warmup 1: steady-state TTFT).
# Usage: bench/run_engine_bench.sh [OUT_DIR] [PROMPT_LENS]   (default: ./bench-out, "32768 131072")
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench-out}"
lens="${2:-32768 131072}"
mkdir -p "$out"
build=${SWAA_BUILD_DIR:-/tmp/swaa-build}
# SWAA_SKIP_BUILD=1: use the binaries already in $build (the GPU machine has no build dependencies:
# scripts/device_bundle.sh here, then scripts/device_run.sh env SWAA_SKIP_BUILD=1
# SWAA_BUILD_DIR=/tmp/swaa-src/build-device bench/run_engine_bench.sh there).
build_targets() {
  [ "${SWAA_SKIP_BUILD:-0}" = 1 ] && return 0
  cmake --build "$build" -j "$(nproc)" --target "$@" >>"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
}
if [ "${SWAA_SKIP_BUILD:-0}" != 1 ]; then
  cmake -S . -B "$build" -G Ninja -DSWAA_CUDA=ON -DSWAA_CUDA_ARCHS=90a >"$out/configure.log" 2>&1 || { tail -20 "$out/configure.log"; exit 1; }
fi
build_targets e2e_cuda_test make_random_model
"$build/tests/e2e/e2e_cuda_test" >"$out/cuda_e2e.log" 2>&1
echo "e2e_cuda_test exit $?"; grep -E "^\[  (PASSED|FAILED)|Failure" "$out/cuda_e2e.log" | head -20
build_targets swaa
model=/tmp/swaa-qwen3-4b-random
[ -f "$model/config.json" ] || "$build/tests/make_random_model" "$model" --type qwen3 --vocab 151936 --hidden 2560 \
  --layers 36 --heads 32 --kv-heads 8 --head-dim 128 --intermediate 9728 --fast-init true >/dev/null
odd=$(seq -s, 1 2 35)
for len in $lens; do
  for cfg in "" "--sliding-window-size 2048" "--sliding-window-size 2048 --keep-first 100 --force-fa-decode true" \
             "--sliding-window-size 2048 --keep-first 100 --force-fa-decode true --non-sliding-layers $odd"; do
    # --max-model-len: the random checkpoint says max_position_embeddings 65536
    "$build/swaa" bench -m "$model" --device cuda --prompt-len "$len" --gen-len 32 --batch 1 --kv-cache-gib 60 \
      --max-num-batched-tokens 16384 --max-model-len $((len + 32)) --warmup 1 --json $cfg 2>>"$out/bench.err" | tee -a "$out/bench.jsonl"
  done
done
