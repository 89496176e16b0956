#!/usr/bin/env bash
# Live overhead: demo-server under maximum load (demo-loadgen), traced by a real
# bpftrace running examples/scripts/all.bt through bpftrace-otel, exporting to
# the counting OTLP receiver (pipeline_bench --receiver-only). Reports the CPU
# per event of bpftrace and of bpftrace-otel (utime+stime from /proc/PID/stat,
# over the load window only: bpftrace's start-up compile is excluded), the
# ratio (target: ours <= 5% of bpftrace's), and bpftrace's lost events.
# First, as a baseline, the same script, load and server with bpftrace alone
# writing its JSON to a file (no reader but the page cache): the events it
# loses there are not caused by us.
#
#   sudo scripts/bench-live.sh [BUILD_DIR] [REQUESTS] [CONCURRENCY] [bpftrace-otel options...]
#
# BTO_LIVE_SCRIPT picks the script (default examples/scripts/all.bt; e.g.
# examples/scripts/paired/all.bt), BTO_LIVE_MIX the demo-loadgen --mix;
# BTO_LIVE_BASELINE=0 skips the bpftrace-alone baseline (for alternating runs);
# BTO_LIVE_ALONE_ONLY=1 runs only that baseline (bpftrace's own cost of a
# script, e.g. one that prints nothing: docs/performance.md, "bpftrace's floor");
# BTO_LIVE_PERF=FILE records `perf record -g` of bpftrace-otel over the load
# window (then `perf report -i FILE --no-children`).
# Besides CPU per event it prints CPU per request (bpftrace, ours, both) and
# our wake-ups: voluntary context switches of each of our threads over the load
# window (a thread that blocks in poll, read, a futex or a timed wait and is
# woken again), per 1000 events.
set -euo pipefail
BUILD_DIR=$(realpath "${1:-build}")
REQUESTS=${2:-200000}
CONCURRENCY=${3:-32}
shift $(( $# < 3 ? $# : 3 ))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRIPT=$(realpath "${BTO_LIVE_SCRIPT:-$ROOT/examples/scripts/all.bt}")
MIX=${BTO_LIVE_MIX:-items:4,error,notfound,orders}
if [[ $(id -u) -ne 0 ]]; then echo "bench-live.sh: needs root (bpftrace)" >&2; exit 2; fi
WORK=$(mktemp -d /tmp/bto-live.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

ticks() { # utime+stime of PID in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
# "name:switches ..." for every thread of PID: voluntary context switches (wake-ups)
switches() {
  local task
  for task in /proc/"$1"/task/*; do
    printf '%s:%s ' "$(tr ' ' _ < "$task/comm")#${task##*/}" "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status")"
  done
}
# voluntary context switches of all threads of PID (wake-ups), summed
wakeups() {
  cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}
HZ=$(getconf CLK_TCK)

"$BUILD_DIR/bench/pipeline_bench" --receiver-only > "$WORK/receiver.out" &
RECEIVER=$!; PIDS+=("$RECEIVER")
for _ in $(seq 50); do grep -q '^port' "$WORK/receiver.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(awk '/^port/ {print $2}' "$WORK/receiver.out")

"$BUILD_DIR/examples/bin/demo-server" --port 0 --quiet --port-file "$WORK/server.port" &
SERVER=$!; PIDS+=("$SERVER")
for _ in $(seq 50); do [[ -s $WORK/server.port ]] && break; sleep 0.1; done
SERVER_PORT=$(cat "$WORK/server.port")

# Attached when bpftrace's CPU stops climbing (LLVM compile + probe attach).
wait_attached() {
  local prev=-1 now
  for _ in $(seq 60); do
    now=$(ticks "$1"); [[ $now == "$prev" ]] && break; prev=$now; sleep 1
  done
  sleep 1
}
run_load() {
  "$BUILD_DIR/examples/bin/demo-loadgen" --port "$SERVER_PORT" --requests "$REQUESTS" \
      --concurrency "$CONCURRENCY" --mix "$MIX" > "$1"
  sleep 1  # let the last events drain through
}

requests_of() { sed -n 's/^{"total":\([0-9]*\).*/\1/p' "$1"; }
echo "script: ${SCRIPT#"$ROOT"/}, mix $MIX, $REQUESTS requests, $CONCURRENCY connections"
if [[ ${BTO_LIVE_BASELINE:-1} != 0 ]]; then
# ---- baseline: bpftrace alone (same argv as bpftrace-otel builds, see bpftrace_command.cpp)
bpftrace -f json -B line -p "$SERVER" "$SCRIPT" > "$WORK/alone.jsonl" 2> "$WORK/alone.err" &
ALONE=$!; PIDS+=("$ALONE")
wait_attached "$ALONE"
a0=$(ticks "$ALONE"); ta0=$(date +%s.%N); w0=$(wakeups "$ALONE")
run_load "$WORK/loadgen-alone.json"
a1=$(ticks "$ALONE"); ta1=$(date +%s.%N); w1=$(wakeups "$ALONE")
kill -INT "$ALONE"; wait "$ALONE" || true
# Events: printed records; lost: the sum of bpftrace's lost_events records.
read -r ALONE_EVENTS ALONE_LOST < <(awk '
  /"type": *"(printf|value)"/ { events++ }
  /"type": *"lost_events"/ { if (match($0, /"events": *[0-9]+/)) { s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); lost += s } }
  END { print events + 0, lost + 0 }' "$WORK/alone.jsonl")
awk -v a="$((a1 - a0))" -v w="$((w1 - w0))" -v hz="$HZ" -v ev="$ALONE_EVENTS" -v lost="$ALONE_LOST" -v req="$(requests_of "$WORK/loadgen-alone.json")" \
    -v wall="$(echo "$ta1 - $ta0" | bc)" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
  printf "baseline (bpftrace alone, JSON to a file): events=%d in %.1f s (%.0f events/s), load avg %s\n", ev, wall, ev / wall, load;
  printf "  bpftrace      CPU %.2f s = %.3f us/event = %.2f us/request (%d requests)\n", a / hz, a / hz * 1e6 / (ev > 0 ? ev : 1), a / hz * 1e6 / (req > 0 ? req : 1), req;
  printf "  bpftrace lost events = %d (%.1f%% of events + lost)\n", lost, 100 * lost / (ev + lost > 0 ? ev + lost : 1);
  printf "  bpftrace wake-ups (voluntary context switches) %d = %.2f per request, %.2f per event\n", w, w / (req > 0 ? req : 1), w / (ev > 0 ? ev : 1);
}'
[[ ${BTO_LIVE_ALONE_ONLY:-0} == 0 ]] || exit 0
fi

# ---- through bpftrace-otel
"$BUILD_DIR/bpftrace-otel" --mode native-usdt --script "$SCRIPT" --pid "$SERVER" \
    --endpoint "http://127.0.0.1:$PORT/v1/traces" --service-name demo-server "$@" > "$WORK/bto.log" 2>&1 &
OURS=$!; PIDS+=("$OURS")
BPFTRACE=""
for _ in $(seq 100); do
  # The tracing bpftrace, not the short-lived `bpftrace --version` run before it.
  BPFTRACE=$(pgrep -P "$OURS" -f "bpftrace -f json" || true)
  [[ -n $BPFTRACE ]] && break
  sleep 0.1
done
[[ -n $BPFTRACE ]] || { echo "bpftrace did not start"; cat "$WORK/bto.log"; exit 1; }
wait_attached "$BPFTRACE"

PERF=""
if [[ -n ${BTO_LIVE_PERF:-} ]]; then  # a profile of our process over the load window
  perf record -F 2000 -g -p "$OURS" -o "$BTO_LIVE_PERF" 2> "$WORK/perf.err" &
  PERF=$!; sleep 0.5
fi
b0=$(ticks "$BPFTRACE"); o0=$(ticks "$OURS"); t0=$(date +%s.%N); s0=$(switches "$OURS"); bw0=$(wakeups "$BPFTRACE")
run_load "$WORK/loadgen.json"
b1=$(ticks "$BPFTRACE"); o1=$(ticks "$OURS"); t1=$(date +%s.%N); s1=$(switches "$OURS"); bw1=$(wakeups "$BPFTRACE")
if [[ -n $PERF ]]; then kill -INT "$PERF"; wait "$PERF" || true; fi

kill -INT "$OURS"; wait "$OURS" || true
kill -INT "$RECEIVER"; wait "$RECEIVER" || true
kill "$SERVER" 2>/dev/null || true

SUMMARY=$(grep -o 'summary: .*' "$WORK/bto.log" | tail -1)
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $SUMMARY" | head -1; }
EVENTS=$(field events); LOST=$(field bpftrace_lost_events); EXPORTED=$(field exported)
RECEIVED=$(sed -n 's/.*received spans=\([0-9]*\).*/\1/p' "$WORK/receiver.out")
awk -v b="$((b1 - b0))" -v o="$((o1 - o0))" -v hz="$HZ" -v ev="$EVENTS" -v lost="$LOST" \
    -v exported="$EXPORTED" -v rec="$RECEIVED" -v wall="$(echo "$t1 - $t0" | bc)" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
    -v lg="$(cat "$WORK/loadgen.json")" -v req="$(requests_of "$WORK/loadgen.json")" -v s0="$s0" -v s1="$s1" -v bw="$((bw1 - bw0))" 'BEGIN {
  bus = b / hz * 1e6 / ev; ous = o / hz * 1e6 / ev; req = req > 0 ? req : 1;
  printf "live: events=%d in %.1f s (%.0f events/s), load avg %s\n", ev, wall, ev / wall, load;
  printf "  bpftrace      CPU %.2f s = %.3f us/event = %.2f us/request\n", b / hz, bus, b / hz * 1e6 / req;
  printf "  bpftrace-otel CPU %.2f s = %.3f us/event = %.2f us/request\n", o / hz, ous, o / hz * 1e6 / req;
  printf "  both          %.2f us/request (%d requests, %.2f events/request)\n", (b + o) / hz * 1e6 / req, req, ev / req;
  printf "  ratio ours/bpftrace = %.1f%%\n", 100 * ous / bus;
  n = split(s0, before, " "); split(s1, after, " "); total = 0; line = "";
  for (i = 1; i <= n; i++) {
    split(before[i], x, ":"); split(after[i], y, ":");
    if (x[1] != y[1]) continue;
    d = y[2] - x[2]; total += d; line = line sprintf(" %s=%d", x[1], d);
  }
  printf "  our wake-ups (voluntary context switches) %d = %.1f per 1000 events:%s\n", total, 1000 * total / ev, line;
  printf "  bpftrace wake-ups (voluntary context switches) %d = %.2f per request, %.2f per event\n", bw, bw / req, bw / ev;
  printf "  bpftrace lost events = %d (%.1f%% of events + lost); spans exported=%d received=%d\n", lost, 100 * lost / (ev + lost), exported, rec;
  printf "  loadgen: %s\n", lg;
}'
echo "  summary: $SUMMARY"
rm -rf "$WORK"
