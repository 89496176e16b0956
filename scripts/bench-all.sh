#!/usr/bin/env bash
# Every performance figure of docs/performance.md in one run:
#   scripts/bench-all.sh [BUILD_DIR] [RUNS]
# Builds nothing: configure with -DCMAKE_BUILD_TYPE=Release and build
# bpftrace-otel, the bench/ targets and (for the live part) demo-server and
# demo-loadgen first. The live part runs only as root.
# CPU figures are user+sys time (the machine may be shared); the load average
# is printed with each table.
set -euo pipefail
BUILD_DIR=$(realpath "${1:-build}")
RUNS=${2:-3}
BENCH=$BUILD_DIR/bench
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/bto-bench-all.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "== machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $(date -u +%FT%TZ) $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"

echo; echo "== 1. end to end, 1M events, tuple shape, 256 open, 30% nested (protobuf, gzip, none)"
"$BENCH/stream_gen" --events 1000000 --open 256 --nesting 0.3 --shape tuple -o "$WORK/tuple-1m.jsonl"
"$BENCH/pipeline_bench" --input "$WORK/tuple-1m.jsonl" --runs "$RUNS" --modes protobuf,gzip,none --v3-floor

echo; echo "== 1b. disk spool (docs/performance.md): protobuf vs spool on with a healthy collector, alternating runs;"
echo "       spooling: the collector down, every request written to the spool"
"$BENCH/pipeline_bench" --input "$WORK/tuple-1m.jsonl" --runs "$RUNS" --modes protobuf,spool,spooling --interleave --no-floor

echo; echo "== 2. end to end, 1M events, mixed shapes (60% tuple, 30% printf, 10% raw), 2% garbage, 64-byte attributes"
"$BENCH/stream_gen" --events 1000000 --open 256 --nesting 0.3 --shape mix --garbage 2 --attr-bytes 64 \
    -o "$WORK/mix-1m.jsonl"
"$BENCH/pipeline_bench" --input "$WORK/mix-1m.jsonl" --runs "$RUNS" --modes protobuf,none

echo; echo "== 3. allocations: mallocs per event, 1M vs 10M events (LD_PRELOAD counter; the difference is per-event allocation)"
"$BENCH/stream_gen" --events 10000000 --open 256 --nesting 0.3 -o "$WORK/tuple-10m.jsonl"
for input in tuple-1m tuple-10m; do
  "$BENCH/pipeline_bench" --input "$WORK/$input.jsonl" --runs 1 --modes protobuf,none --no-floor \
      --preload "$BENCH/libbto_malloc_counter.so" | tee "$WORK/alloc-$input.txt"
done
for mode in protobuf none; do
  get() { sed -n "s/^mallocs mode=$mode events=[0-9]* total=\([0-9]*\) main_thread=\([0-9]*\)/\1 \2/p" "$1"; }
  read -r a am < <(get "$WORK/alloc-tuple-1m.txt")
  read -r b bm < <(get "$WORK/alloc-tuple-10m.txt")
  awk -v mode="$mode" -v a="$a" -v b="$b" -v am="$am" -v bm="$bm" 'BEGIN {
    printf "allocs %-8s 1M: %d (reader thread %d)  10M: %d (reader thread %d)  => per extra event: %.6f (reader thread %.6f)\n",
      mode, a, am, b, bm, (b - a) / 9e6, (bm - am) / 9e6 }'
done

echo; echo "== 4. RSS: 100k spans open at once, then closed; and 1M vs 10M replay (peak RSS must not grow)"
# 400k events: with fewer the generator cannot hold all 100k open at once (200k gave 66,667).
"$BENCH/stream_gen" --events 400000 --open 100000 --nesting 0 -o "$WORK/open-100k.jsonl"
"$BENCH/pipeline_bench" --input "$WORK/open-100k.jsonl" --runs 1 --modes protobuf --no-floor
"$BENCH/pipeline_bench" --input "$WORK/tuple-10m.jsonl" --runs 1 --modes protobuf --no-floor
rm -f "$WORK/tuple-10m.jsonl"

echo; echo "== 5. micro-benchmarks"
for bench in "$BENCH"/*_bench; do
  [[ $(basename "$bench") == pipeline_bench ]] && continue
  echo "-- $(basename "$bench")"
  "$bench" --benchmark_min_time=0.2 2>&1 | grep -vE '^(\*\*\*|WARNING|Run on|CPU Caches|  L[123]|Load Average)'
done

echo; echo "== 6. live (bpftrace + demo server under load)"
if [[ $(id -u) -eq 0 && -x $BUILD_DIR/examples/bin/demo-server ]]; then
  "$ROOT/scripts/bench-live.sh" "$BUILD_DIR"
else
  echo "skipped: needs root and $BUILD_DIR/examples/bin/demo-server"
fi
