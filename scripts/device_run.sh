#!/usr/bin/env bash
# On the GPU machine: unpacks the bundle made by scripts/device_bundle.sh (carried in
# .cache/devbundle) into build-device/ of this repository, points /tmp/swaa-src (the path the
# binaries were built at) here, and runs the given command with the bundled libraries.
#
#   scripts/device_run.sh build-device/swaa eval --device cuda ...
#   scripts/device_run.sh ctest --test-dir /tmp/swaa-src/build-device -L cuda --output-on-failure
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bundle="${SWAA_DEVICE_BUNDLE:-$repo/.cache/devbundle/bundle.tar.xz}"
[ -f "$bundle" ] || { echo "device_run: no bundle at $bundle (scripts/device_bundle.sh, carry .cache/devbundle)" >&2; exit 1; }
# Unpack once per bundle (a stamp, since tar keeps the files' older times), under a lock: several
# device_run.sh started at once must not rewrite binaries another one is already running.
stamp="$repo/build-device/.bundle-unpacked"
exec 9>"$repo/.device-run.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$bundle" -nt "$stamp" ]; then
  tar -xJf "$bundle" -C "$repo"
  touch "$stamp"
fi
flock -u 9
if [ "$(readlink /tmp/swaa-src 2>/dev/null)" != "$repo" ]; then
  [ -e /tmp/swaa-src ] && [ ! -L /tmp/swaa-src ] && { echo "device_run: /tmp/swaa-src exists and is not a link" >&2; exit 1; }
  ln -sfn "$repo" /tmp/swaa-src
fi
cuda_lib=/usr/local/cuda/lib64
[ -d "$cuda_lib" ] || cuda_lib=/usr/local/cuda/lib
export LD_LIBRARY_PATH="$repo/build-device/bundle-lib:$cuda_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ $# -gt 0 ] || { echo "device_run: give a command to run" >&2; exit 2; }
cd "$repo"
exec "$@"
