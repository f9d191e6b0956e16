#!/usr/bin/env bash
# Builds swaa-tiny from a seed: tokenizer (if the model folder has none), training (bounded by a
# wall-clock budget, resumable), export, and the export check against Transformers.
# Runs on the GPU machine (PyTorch, tokenizers, Transformers); the corpus comes from
# tools/train/fetch_corpus.sh on a machine with the package registries.
#
#   tools/train/train_swaa_tiny.sh CORPUS_DIR MODEL_DIR WORK_DIR [train.py flags...]
#
# Example, one bounded call of a longer run (repeat with --resume until the tokens are done):
#   tools/train/train_swaa_tiny.sh .cache/corpus models/swaa-tiny .cache/train \
#       --total-tokens 400e6 --time-budget-s 540 --resume
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 3 ] || { sed -n 2,12p "$0" >&2; exit 2; }
corpus="$1" model="$2" work="$3"
shift 3
seed="${SWAA_TRAIN_SEED:-1234}"
vocab="${SWAA_TRAIN_VOCAB:-12288}"
python="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
[ -d "$corpus" ] || { echo "train_swaa_tiny: corpus folder $corpus does not exist (tools/train/fetch_corpus.sh)" >&2; exit 1; }
mkdir -p "$model" "$work"
if [ ! -f "$model/tokenizer.json" ]; then
  echo "train_swaa_tiny: training the tokenizer (vocabulary $vocab, seed $seed)"
  start=$(date +%s)
  "$python" "$here/tokenizer_train.py" --corpus "$corpus" --out "$model" --vocab "$vocab" --seed "$seed" \
    --max-bytes "${SWAA_TOKENIZER_BYTES:-40000000}"
  echo "train_swaa_tiny: tokenizer done in $(( $(date +%s) - start )) s"
fi
"$python" "$here/train.py" --corpus "$corpus" --model-dir "$model" --work-dir "$work" --seed "$seed" "$@"
"$python" "$here/check_export.py" --model-dir "$model" --out "$work/export_check.json"
