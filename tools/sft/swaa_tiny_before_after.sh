#!/usr/bin/env bash
# SWA-aware fine-tuning of swaa-tiny, before and after, in one command (GPU machine):
#   1. self-distillation data: the full-attention model answers training-style long-context tasks
#      (tools/sft/make_distill_data.py; training generators, a seed of their own, never eval's);
#      an existing OUT/distill.jsonl is reused;
#   2. LoRA fine-tuning (tools/sft/sft.py, the paper's recipe) under every SWAA configuration of
#      the settings file (SETTINGS, default eval/settings/swaa_tiny_sft.json; every entry with a
#      sliding window) and each learning rate in LRS, all at once (the model is small);
#   3. `swaa eval` of the base model and of every merged checkpoint with the same settings file
#      (full attention and each configuration) at 2k/4k/8k;
#   4. one table of all of it: tools/sft/before_after_table.py -> OUT/before_after.md.
#
#   tools/sft/swaa_tiny_before_after.sh CORPUS_DIR OUT_DIR [SWAA_BIN]
#
# Environment knobs: SETTINGS, SAMPLES (distill prompts, 1024), LENGTHS (1024,2048,4096,7168),
# LRS ("1e-4 1e-3"), EPOCHS (2), BATCH (8), BACKEND (cuda | flex | sdpa), EVAL_SAMPLES (20),
# EVAL_LENGTHS (2k,4k,8k), MODEL (models/swaa-tiny).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
corpus="${1:?usage: swaa_tiny_before_after.sh CORPUS_DIR OUT_DIR [SWAA_BIN]}"
out="${2:?usage: swaa_tiny_before_after.sh CORPUS_DIR OUT_DIR [SWAA_BIN]}"
swaa_bin="${3:-$repo/build/swaa}"
model="${MODEL:-$repo/models/swaa-tiny}"
samples="${SAMPLES:-1024}" lengths="${LENGTHS:-1024,2048,4096,7168}"
lrs="${LRS:-1e-4 1e-3}" epochs="${EPOCHS:-2}" batch="${BATCH:-8}" backend="${BACKEND:-cuda}"
eval_samples="${EVAL_SAMPLES:-20}" eval_lengths="${EVAL_LENGTHS:-2k,4k,8k}"
settings="$(realpath "${SETTINGS:-$repo/eval/settings/swaa_tiny_sft.json}")"
[ -d "$corpus" ] || { echo "swaa_tiny_before_after: no corpus folder $corpus" >&2; exit 1; }
[ -x "$swaa_bin" ] || { echo "swaa_tiny_before_after: no swaa binary at $swaa_bin" >&2; exit 1; }
mkdir -p "$out"
[ -f "$settings" ] || { echo "swaa_tiny_before_after: no settings file $settings" >&2; exit 1; }
# name -> SWAA config: every entry of the settings file with a sliding window
declare -A configs=()
while IFS=$'\t' read -r name json; do configs[$name]="$json"; done < <(python3 - "$settings" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1])):
    if e.get("sliding_window_size"):
        print(e["name"].removeprefix("swa_") + "\t" + json.dumps({k: v for k, v in e.items() if k != "name"}))
PY
)
[ "${#configs[@]}" -gt 0 ] || { echo "swaa_tiny_before_after: $settings has no entry with a sliding window" >&2; exit 1; }

if [ -s "$out/distill.jsonl" ]; then
  echo "== distillation data: reusing $out/distill.jsonl ($(wc -l <"$out/distill.jsonl") examples)"
else
  echo "== distillation data ($samples prompts, lengths $lengths)"
  python3 "$repo/tools/sft/make_distill_data.py" --model "$model" --corpus "$corpus" --out "$out/distill.jsonl.part" \
    --samples "$samples" --lengths "$lengths" --batch-size 128 --seed 777 2>&1 | tee "$out/distill.log"
  mv "$out/distill.jsonl.part" "$out/distill.jsonl"
fi

echo "== fine-tuning: configs ${!configs[*]}; learning rates $lrs; $epochs epochs; backend $backend"
pids=()
for name in "${!configs[@]}"; do
  for lr in $lrs; do
    run="sft_${name}_lr$lr"
    python3 "$repo/tools/sft/sft.py" --model "$model" --data "$out/distill.jsonl" --out "$out/$run" \
      --swaa-config "${configs[$name]}" --lr "$lr" --epochs "$epochs" --batch-size "$batch" \
      --backend "$backend" >"$out/$run.log" 2>&1 &
    pids+=($!)
  done
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
tail -n 2 "$out"/sft_*.log
[ "$fail" = 0 ] || { echo "swaa_tiny_before_after: a fine-tuning run failed (logs in $out)" >&2; exit 1; }

echo "== swaa eval: base and fine-tuned checkpoints"
eval_one() {  # model_dir name
  "$swaa_bin" eval -m "$1" --device cuda --max-model-len 8704 --max-num-seqs 32 --max-num-batched-tokens 2048 \
    --settings "$settings" --lengths "$eval_lengths" --samples "$eval_samples" \
    --no-think -q -o "$out/eval_$2" >"$out/eval_$2.log" 2>&1
}
pids=()
eval_one "$model" base & pids+=($!)
for d in "$out"/sft_*/; do
  d="${d%/}"; eval_one "$d" "$(basename "$d")" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ "$fail" = 0 ] || { echo "swaa_tiny_before_after: an eval failed (logs in $out)" >&2; exit 1; }
python3 "$repo/tools/sft/before_after_table.py" "$out" | tee "$out/before_after.md"
