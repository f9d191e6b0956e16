#!/usr/bin/env bash
# Decode speed of `swaa bench --device cuda` with CUDA graphs on and off (SWAA_CUDA_GRAPHS), on a
# Qwen3-4B-shaped random checkpoint: batch 1 after 8k and 32k prompts, batch 32 after 2k prompts,
# full attention and W=2048. One JSON line per run in OUT/decode_graphs.jsonl.
#
#   bench/decode_graphs.sh SWAA_BIN MODEL_DIR OUT_DIR
# (on the GPU machine with the device bundle: SWAA_BIN is a wrapper running
#  scripts/device_run.sh build-device/swaa "$@"; MODEL_DIR from tests/make_random_model as in
#  bench/run_engine_bench.sh)
set -uo pipefail
swaa="${1:?usage: decode_graphs.sh SWAA_BIN MODEL_DIR OUT_DIR}"
model="${2:?model dir}"
out="${3:?out dir}"
mkdir -p "$out"
run() {  # graphs, batch, prompt, extra flags...
  local graphs="$1" batch="$2" len="$3"
  shift 3
  printf '{"graphs": %s, "batch": %s, "prompt": %s, "flags": "%s", "result": ' "$graphs" "$batch" "$len" "$*" \
    >>"$out/decode_graphs.jsonl"
  SWAA_CUDA_GRAPHS="$graphs" "$swaa" bench -m "$model" --device cuda --prompt-len "$len" --gen-len 128 \
    --batch "$batch" --max-num-seqs "$batch" --kv-cache-gib 40 --max-num-batched-tokens 16384 --json "$@" \
    2>>"$out/decode_graphs.err" | tr -d '\n' >>"$out/decode_graphs.jsonl"
  echo "}" >>"$out/decode_graphs.jsonl"
  tail -1 "$out/decode_graphs.jsonl"
}
for cfg in "" "--sliding-window-size 2048"; do
  for graphs in 0 1; do
    # shellcheck disable=SC2086
    run "$graphs" 1 8192 $cfg
    # shellcheck disable=SC2086
    run "$graphs" 1 32768 $cfg
    # shellcheck disable=SC2086
    run "$graphs" 32 2048 $cfg
  done
done
