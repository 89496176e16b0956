#!/usr/bin/env bash
# The README's test command: install dependencies, build with -Werror, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# End-to-end tests attach real bpftrace probes; tracepoints need tracefs.
if [[ $(id -u) -eq 0 ]] && ! mountpoint -q /sys/kernel/tracing; then
  mount -t tracefs nodev /sys/kernel/tracing || echo "warning: could not mount tracefs" >&2
fi
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBTO_WERROR=ON
cmake --build "$BUILD_DIR" -j"$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 "$@"
