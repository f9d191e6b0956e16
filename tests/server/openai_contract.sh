#!/usr/bin/env bash
# Starts `swaa serve` on a random tiny model (free port, API key) and runs openai_contract.mjs with
# the official openai npm client (tests/server/fetch_openai_npm.sh puts it in .cache/npm-openai).
# Usage: tests/server/openai_contract.sh BUILD_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "$1" && pwd)"
pkg="$root/.cache/npm-openai/openai"
[ -f "$pkg/index.mjs" ] || { echo "openai npm package missing in $pkg (run tests/server/fetch_openai_npm.sh)" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
[ "$node_major" -ge 20 ] || { echo "the openai npm client needs Node.js >= 20 (found: $(node --version 2>&1))" >&2; exit 1; }
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$build/tests/make_random_model" "$work/model" --vocab 300 --hidden 32 --layers 3 --byte-tokenizer true >/dev/null
# The background job opens serve.log itself, maybe after the loop below first reads it (and a failed
# read in `port=$(...)` would end this script under set -e): create it first.
: >"$work/serve.log"
# --max-model-len 20000: room for a stream that cannot finish before its client aborts it (a write
# to a closed connection fails only after the close arrives; this model writes ~10k tokens/s).
"$build/swaa" serve -m "$work/model" --port 0 --served-model-name tiny --api-key test-key --threads 1 \
  --max-model-len 20000 --sliding-window-size 16 --keep-first 2 --non-sliding-layers "[1]" 2>"$work/serve.log" &
pid=$!
port=""
for _ in $(seq 300); do
  port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.log" || true)"
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "swaa serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
status=0
node "$root/tests/server/openai_contract.mjs" "http://127.0.0.1:$port/v1" tiny test-key "$pkg" || status=$?
kill "$pid"
wait "$pid" || { echo "swaa serve exited with $? on SIGTERM" >&2; cat "$work/serve.log" >&2; status=1; }
pid=""
exit "$status"
