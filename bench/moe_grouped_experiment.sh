#!/usr/bin/env bash
# One device call deciding branch moe-grouped-gemm: MoE prompt chunks with one grouped cuBLAS call
# per projection (cublasGemmGroupedBatchedEx; default) against one GEMM per expert
# (SWAA_MOE_GROUPED_GEMM=0): the MoE kernel and e2e CUDA tests (qwen3_moe fixtures against
# Transformers, chunked prefill equal to unchunked, graphs), then warm TTFT of a Qwen3-30B-A3B-shaped
# random model cut to 8 layers at 2k / 8k / 16k prompt tokens.
# Build here:  scripts/device_bundle.sh --targets "swaa moe_kernel_test e2e_cuda_test make_random_model"
# Run there:   bench/moe_grouped_experiment.sh "$OUT"          (carry .cache/devbundle; ~4 minutes)
set -uo pipefail
cd "$(dirname "$0")/.."
R=scripts/device_run.sh
O="${1:?usage: moe_grouped_experiment.sh OUT_DIR}"
mkdir -p "$O"
t0=$(date +%s)
el() { echo "[$(($(date +%s) - t0)) s] $*"; }
for g in 1 0; do
  SWAA_MOE_GROUPED_GEMM=$g timeout 200 $R build-device/tests/e2e/e2e_cuda_test >"$O/e2e.grouped$g.log" 2>&1
  el "e2e_cuda_test SWAA_MOE_GROUPED_GEMM=$g rc $?"
  grep -E "^\[  (PASSED|FAILED)|FAILED  \]|qwen3_moe|cublasGemmGrouped" "$O/e2e.grouped$g.log" | head -12
done
timeout 60 $R build-device/tests/kernels/moe_kernel_test >"$O/moe_kernel_test.log" 2>&1
el "moe_kernel_test rc $?"
moe=/tmp/moe30b8
timeout 150 $R build-device/tests/make_random_model $moe --type qwen3_moe --vocab 151936 --hidden 2048 --layers 8 \
  --heads 32 --kv-heads 4 --head-dim 128 --intermediate 6144 --experts 128 --top-k 8 --moe-intermediate 768 \
  --fast-init true >/dev/null 2>&1
el "moe model rc $?"
for len in 2048 8192 16384; do
  for g in 1 0; do
    SWAA_MOE_GROUPED_GEMM=$g timeout 100 $R build-device/swaa bench -m $moe --device cuda --prompt-len $len --gen-len 16 \
      --batch 1 --warmup 1 --kv-cache-gib 40 --max-num-batched-tokens 16384 --json 2>>"$O/engine.err" |
      tr -d '\n' >>"$O/engine.jsonl"
    echo " grouped=$g len=$len" >>"$O/engine.jsonl"
  done
done
el "moe ttft done"
sed -E 's/.*"decode_tokens_per_second":([0-9.]+).*"time_to_first_token_max_s":([0-9.]+).*\} (.*)/decode \1 ttft \2 \3/' \
  "$O/engine.jsonl"
grep -i "grouped" "$O/engine.err" | head -3
