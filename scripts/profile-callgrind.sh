#!/usr/bin/env bash
# Deterministic profile of the replay pipeline: instructions per event, in total
# and by function, from valgrind's callgrind (instruction counts do not depend
# on the load of a shared machine, unlike CPU time).
#
#   scripts/profile-callgrind.sh [BUILD_DIR] [EVENTS] [MODE...]
#
# MODE: protobuf (default; to the counting receiver), none (--exporter none),
# gzip. Generates EVENTS (default 200000) events of stream 1 of
# docs/performance.md (tuple shape, 256 open, 30 % children), runs the real
# binary under callgrind once per mode and prints instructions per event, the
# functions with the most inclusive and self instructions, and leaves the
# callgrind.out files in $OUT (default /tmp/bto-callgrind) for
# callgrind_annotate. Needs valgrind (apt install valgrind).
set -euo pipefail
BUILD_DIR=$(realpath "${1:-build}")
EVENTS=${2:-200000}
shift $(( $# < 2 ? $# : 2 ))
MODES=("$@")
[[ ${#MODES[@]} -gt 0 ]] || MODES=(protobuf)
OUT=${OUT:-/tmp/bto-callgrind}
BINARY=${BINARY:-$BUILD_DIR/bpftrace-otel}  # another build of the binary, for before/after
mkdir -p "$OUT"
STREAM=$OUT/stream-$EVENTS.jsonl
command -v valgrind > /dev/null || { echo "profile-callgrind.sh: needs valgrind" >&2; exit 2; }

[[ -s $STREAM ]] || "$BUILD_DIR/bench/stream_gen" --events "$EVENTS" --open 256 --nesting 0.3 --shape tuple -o "$STREAM"

RECEIVER=
cleanup() { [[ -n $RECEIVER ]] && kill "$RECEIVER" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
"$BUILD_DIR/bench/pipeline_bench" --receiver-only > "$OUT/receiver.out" &
RECEIVER=$!
for _ in $(seq 50); do grep -q '^port' "$OUT/receiver.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/^port/ {print $2}' "$OUT/receiver.out")

for mode in "${MODES[@]}"; do
  args=(--input "$STREAM")
  # A replay of a regular file waits for the exporter when the queue is full
  # (on_queue_full=auto): nothing is dropped although valgrind runs one thread at a time.
  env=(BTO_PROFILE=1)
  case $mode in
    protobuf) args+=(--endpoint "http://127.0.0.1:$PORT/v1/traces") ;;
    gzip) args+=(--endpoint "http://127.0.0.1:$PORT/v1/traces"); env+=(OTEL_EXPORTER_OTLP_COMPRESSION=gzip) ;;
    none) args+=(--exporter none) ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  file=$OUT/callgrind.out.$mode
  env "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$file" \
      "$BINARY" "${args[@]}" > "$OUT/$mode.log" 2>&1
  grep -o 'spans: started=[0-9]*' "$OUT/$mode.log" | tail -1 || true
  callgrind_annotate "$file" > "$file.self.txt" 2>/dev/null
  callgrind_annotate --inclusive=yes "$file" > "$file.inclusive.txt" 2>/dev/null
  total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$file.self.txt")
  echo "== $mode: $total instructions, $(awk -v t="$total" -v e="$EVENTS" 'BEGIN { printf "%.0f", t / e }') per event"
  per_event() { # the first $2 function rows of annotate output $1, in instructions per event
    awk -v e="$EVENTS" -v max="$2" '/^ *[0-9,]+ +\(/ && !/PROGRAM TOTALS/ {
      n = $1; gsub(",", "", n); $1 = ""; $2 = ""; sub(/^ +/, ""); sub(/ \[.*\]$/, "")
      printf "%8.0f  %s\n", n / e, substr($0, 1, 150); if (++k == max) exit }' "$1"
  }
  echo "-- inclusive (instructions per event)"
  per_event "$file.inclusive.txt" 45
  echo "-- self (instructions per event)"
  per_event "$file.self.txt" 30
done
