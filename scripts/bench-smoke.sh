#!/usr/bin/env bash
# Runs every benchmark briefly: proves they build, run and print their figures.
# No timing assertions (CI machines vary); real figures: docs/performance.md.
set -euo pipefail
BUILD_DIR=${1:-build}
shopt -s nullglob
for bench in "$BUILD_DIR"/bench/*_bench; do
  echo "-- $bench"
  "$bench" --benchmark_min_time=0.05
done
