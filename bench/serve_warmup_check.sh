#!/usr/bin/env bash
# First-request latency of `swaa serve --device cuda` with and without the startup warmup
# (--warmup-tokens default = the prefill chunk, vs --warmup-tokens 0): three 2048-token completion
# requests per server, each timed at the client (urllib), max_tokens 8.
# Run there:  bench/serve_warmup_check.sh MODEL_DIR "$OUT"   (carry .cache/devbundle; ~1-2 minutes)
set -uo pipefail
cd "$(dirname "$0")/.."
R=scripts/device_run.sh
M="${1:?usage: serve_warmup_check.sh MODEL_DIR OUT_DIR}"
O="${2:?usage: serve_warmup_check.sh MODEL_DIR OUT_DIR}"
mkdir -p "$O"
for w in default 0; do
  extra=()
  [ "$w" = 0 ] && extra=(--warmup-tokens 0)
  log="$O/serve.warmup-$w.log"
  t0=$(date +%s.%N)
  $R build-device/swaa serve -m "$M" --device cuda --port 0 --kv-cache-gib 20 --max-num-batched-tokens 2048 \
    --max-model-len 16384 "${extra[@]}" >"$log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 1 600); do
    port=$(grep -oE "listening on http://[0-9.]+:[0-9]+" "$log" | grep -oE "[0-9]+$" | head -1)
    [ -n "$port" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.2
  done
  t1=$(date +%s.%N)
  if [ -z "$port" ]; then echo "warmup=$w: server did not start"; tail -5 "$log"; kill $pid 2>/dev/null; continue; fi
  echo "warmup=$w: listening after $(python3 -c "print(round($t1-$t0,2))") s"
  python3 - "$port" "$w" <<'PY'
import json, sys, time, urllib.request
port, w = sys.argv[1], sys.argv[2]
urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10).read()  # the client warms up first
for i in range(3):
    ids = [(17 * k + 31 * i) % 50000 + 100 for k in range(2048)]
    body = json.dumps({"prompt": ids, "max_tokens": 8, "temperature": 0}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", body, {"Content-Type": "application/json"})
    t = time.time()
    with urllib.request.urlopen(req, timeout=120) as r:
        out = json.load(r)
    print(f"warmup={w} request {i}: {time.time() - t:.3f} s, {out['usage']['completion_tokens']} tokens")
PY
  kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null
done
