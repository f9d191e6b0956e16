#!/usr/bin/env bash
# Builds swaa for the GPU machine on this one and packs what a GPU session runs.
#
# The GPU machine has CUDA, PyTorch and CMake but not the Debian packages swaa links (PCRE2, ICU,
# fmt, OpenBLAS, cpp-httplib) and no network, so the CUDA build is made here (-DSWAA_NATIVE=OFF,
# sm_90a) and travels with the shared libraries it needs, as one tarball to name in the device
# tool's `carry`. Binaries are built from a copy of the working tree at a fixed path,
# /tmp/swaa-src, because they hold absolute paths (test data, models, ctest files);
# scripts/device_run.sh points that path at the repository on the GPU machine.
#
#   scripts/device_bundle.sh [--targets "swaa attention_kernel_test ..."] [OUT.tar.xz]
#   default targets: everything; default OUT: .cache/devbundle/bundle.tar.xz
#
# On the GPU machine (carry .cache/devbundle):
#   scripts/device_run.sh build-device/swaa bench ... --device cuda
#   scripts/device_run.sh ctest --test-dir /tmp/swaa-src/build-device -L cuda --output-on-failure
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
targets=""
if [ "${1:-}" = "--targets" ]; then targets="$2"; shift 2; fi
out="$(realpath -m "${1:-$repo/.cache/devbundle/bundle.tar.xz}")"  # absolute: the packing below runs in the build folder
src=/tmp/swaa-src
build="$src/build-device"

[ -L "$src" ] && { echo "device_bundle: $src is a symlink (left by device_run.sh?); remove it" >&2; exit 1; }
mkdir -p "$src"
# The copy keeps each file's mtime, so files from another checkout (a second worktree) can look
# older than objects built from the first one and ninja would keep those: start over when the
# checkout differs from the last one copied here.
if [ "$(cat "$src/.bundle-source" 2>/dev/null)" != "$repo" ]; then
  echo "device_bundle: new checkout ($repo): clearing $src"
  rm -rf "${src:?}"/* "$src/.bundle-source"
  echo "$repo" >"$src/.bundle-source"
fi
echo "device_bundle: copying the working tree to $src"
# Tracked and untracked-but-not-ignored files: the same set the device tool sends. Only files whose
# content differs are copied, and they get the current time as mtime: a file edited while an earlier
# build of this script was running keeps an mtime older than the object built from its previous
# content, and a plain copy (which keeps mtimes) would let ninja keep that stale object.
incoming="$(mktemp -d)"
(cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$incoming"
changed=0
while IFS= read -r -d '' f; do
  if ! cmp -s "$incoming/$f" "$src/$f"; then
    mkdir -p "$src/$(dirname "$f")"
    cp --preserve=mode "$incoming/$f" "$src/$f"
    changed=$((changed + 1))
  fi
done < <(cd "$incoming" && find . -type f -print0)
rm -rf "$incoming"
echo "device_bundle: $changed files changed"

cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWAA_CUDA=ON \
  -DSWAA_CUDA_ARCHS=90a -DSWAA_NATIVE=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" ${targets:+--target $targets}

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/build-device/bundle-lib"
cd "$build"
# Executables and the ctest files (CTestTestfile.cmake and gtest's discovered-test lists).
# With --targets, only those executables travel (a build folder that holds more from an earlier
# full build would not fit otherwise); ctest then reports the others as not built.
exe_names=(-perm -u+x ! -name '*.so*' ! -name '*.sh')
if [ -n "$targets" ]; then
  exe_names=(-perm -u+x \( -false)
  for t in $targets; do exe_names+=(-o -name "$t"); done
  exe_names+=(\))
fi
find . -path ./CMakeFiles -prune -o -path '*/CMakeFiles' -prune -o -type f \
  \( "${exe_names[@]}" -o -name 'CTestTestfile.cmake' -o -name '*_tests.cmake' \
     -o -name '*_include.cmake' \) -print |
  while read -r f; do
    mkdir -p "$stage/build-device/$(dirname "$f")"
    cp -p "$f" "$stage/build-device/$f"
    # Host symbols are not needed there (kernel names and line info live in the device code):
    # stripping keeps the bundle within the device tool's 64 MiB.
    case "$f" in *.cmake) ;; *) strip --strip-unneeded "$stage/build-device/$f" 2>/dev/null || true ;; esac
  done
# Shared libraries the executables load, except glibc's, the CUDA driver's and the CUDA toolkit's
# (the GPU machine has CUDA 13 in /usr/local/cuda).
skip='^(linux-vdso|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|ld-linux|libcuda\.so|libcudart|libcublas|libcublasLt|libnvrtc|libnvJitLink)'
find "$stage/build-device" -type f -perm -u+x ! -name '*.cmake' -print0 |
  xargs -0 -n1 ldd 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    [[ "$name" =~ $skip ]] && continue
    cp -L "$path" "$stage/build-device/bundle-lib/$name"
  done
# OpenBLAS (36 MB, a kernel per x86 generation) is most of the bundle, and the GPU machine's runs
# use the CPU GEMM only for the small models of the CUDA-vs-CPU tests: a stand-in library of the
# same name (a no-op openblas_set_num_threads, linked to Debian's reference BLAS, which travels as
# libblas.so.3 and provides cblas_sgemm) keeps the tree and a bundle with swaa inside the 64 MiB a
# device call carries. Slow, but those GEMMs are small.
if [ -f "$stage/build-device/bundle-lib/libopenblas.so.0" ]; then
  refblas="/usr/lib/$(gcc -print-multiarch)/blas/libblas.so.3"
  if [ -f "$refblas" ]; then
    cp -L "$refblas" "$stage/build-device/bundle-lib/libblas.so.3"
    printf 'void openblas_set_num_threads(int n) { (void)n; }\n' >"$stage/shim.c"
    gcc -shared -fPIC -O2 -o "$stage/build-device/bundle-lib/libopenblas.so.0" -Wl,-soname,libopenblas.so.0 \
      "$stage/shim.c" -Wl,--no-as-needed "$stage/build-device/bundle-lib/libblas.so.3"
    rm "$stage/shim.c"
    echo "device_bundle: libopenblas.so.0 replaced by the reference BLAS (CPU GEMMs on the GPU machine are slow)"
  else
    echo "device_bundle: $refblas missing (apt-get install libblas3): OpenBLAS travels whole" >&2
  fi
fi
mkdir -p "$(dirname "$out")"
XZ_OPT=-9e tar -cJf "$out" -C "$stage" build-device  # -9e: a few MiB under -6
echo "device_bundle: $out ($(du -h "$out" | cut -f1)); libraries: $(ls "$stage/build-device/bundle-lib" | tr '\n' ' ')"
# The device tool sends at most 64 MiB: the working tree (tracked and untracked-not-ignored files)
# plus what `carry` names. Warn when this bundle leaves too little room.
tree=$(cd "$repo" && git ls-files -z -co --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
total=$((tree + $(stat -c %s "$out")))
echo "device_bundle: working tree $((tree / 1048576)) MiB + bundle = $((total / 1048576)) MiB of the 64 MiB a device call may carry"
[ "$total" -lt $((64 * 1048576)) ] || echo "device_bundle: WARNING: over 64 MiB; build fewer --targets or carry less" >&2
