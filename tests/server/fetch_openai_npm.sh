#!/usr/bin/env bash
# Fetches the official `openai` npm client (pinned; it has no runtime dependencies) into
# DEST/openai for the server contract tests. Idempotent: an existing copy of the pinned version is
# kept. Usage: tests/server/fetch_openai_npm.sh [DEST]   (default: .cache/npm-openai)
# 6.x is the newest major that runs on Node 20 (7.x needs Node >= 22).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest="${1:-.cache/npm-openai}"
version="6.30.1"
if [ -f "$dest/openai/package.json" ] && grep -q "\"version\": \"$version\"" "$dest/openai/package.json"; then
  exit 0
fi
command -v npm >/dev/null || { echo "fetch_openai_npm: npm is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "openai@$version" >/dev/null)
tar xzf "$tmp"/openai-"$version".tgz -C "$tmp"
rm -rf "$dest/openai"
mv "$tmp/package" "$dest/openai"
echo "fetch_openai_npm: openai@$version -> $dest/openai" >&2
