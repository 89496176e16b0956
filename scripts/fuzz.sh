#!/bin/bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# FUZZ_SECONDS (default 45). Exits non-zero if any target crashes, trips a
# sanitizer, times out or exceeds the RSS limit; prints execs and coverage.
#
#   scripts/fuzz.sh                         # every target, 45 s each (CI: ~2 min build + ~4 min run)
#   FUZZ_SECONDS=3600 scripts/fuzz.sh fuzz_decoder_line
#   FUZZ_JOBS=2 FUZZ_SECONDS=600 scripts/fuzz.sh   # parallel workers per target
#
# Needs: clang, libclang-rt-14-dev (libFuzzer + sanitizer runtimes), llvm-14 (symbolizer).
# Build dir: $FUZZ_BUILD_DIR (default build-fuzz). Corpora grow in
# $FUZZ_BUILD_DIR/corpus-live/<target> across runs; crashes land in
# $FUZZ_BUILD_DIR/artifacts/. Copy a crash to tests/data/fuzz-regressions/ and
# add a *_regression_test.cpp that replays it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-45}
jobs=${FUZZ_JOBS:-1}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_decoder_line fuzz_tuple fuzz_config_parsers fuzz_collector_response fuzz_pipeline fuzz_spool_segment)
fi

export CC=${CC:-clang} CXX=${CXX:-clang++}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-14)}
fi

cmake -S "$root" -B "$build" -G Ninja -DBTO_FUZZ=ON -DBTO_BUILD_TESTS=OFF -DBTO_BUILD_BENCH=OFF \
  -DBTO_BUILD_EXAMPLES=OFF -DBTO_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"${BUILD_JOBS:-2}"

/usr/bin/python3 "$root/fuzz/tools/make_corpus.py" "$root" "$build/corpus-seed"
mkdir -p "$build/artifacts" "$build/logs"

max_len_for() {
  case $1 in
    fuzz_config_parsers | fuzz_collector_response) echo 4096 ;;
    fuzz_tuple) echo 8192 ;;
    *) echo 65536 ;;  # a few KiB lines, or a stream of many short ones
  esac
}

failed=0
printf '%-26s %8s %10s %7s %7s %8s %s\n' target seconds execs exec/s cov ft result
for target in "${targets[@]}"; do
  bin=$(find "$build" -type f -name "$target" -perm -u+x | head -1)
  live="$build/corpus-live/$target"
  mkdir -p "$live"
  log="$build/logs/$target.log"
  extra=()
  [ "$jobs" -gt 1 ] && extra=(-jobs="$jobs" -workers="$jobs")
  set +e
  "$bin" -max_total_time="$seconds" -max_len="$(max_len_for "$target")" -timeout=10 -rss_limit_mb=2048 \
    -dict="$root/fuzz/bpftrace_json.dict" -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
    "${extra[@]}" "$live" "$build/corpus-seed/$target" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  rate=$(( execs / (seconds > 0 ? seconds : 1) ))
  result=ok
  if [ $rc -ne 0 ]; then
    result="FAILED (rc=$rc, see $log and $build/artifacts/)"
    failed=1
  fi
  printf '%-26s %8s %10s %7s %7s %8s %s\n' "$target" "$seconds" "$execs" "$rate" "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed
