#!/usr/bin/env bash
# Back-pressure and disk spool checks (issue 16, docs/reliability.md "Nothing
# lost: back-pressure and the disk spool"). Runs the real bpftrace-otel binary
# against bench/tools/fault_receiver (which remembers every span id: a span id
# seen twice is a duplicate) and exits non-zero when a check fails.
#
# Phases (SPOOL_PHASES, comma-separated, default all):
#   slow     SPOOL_SLOW_SPANS (500,000) spans replayed from a regular file
#            (--input FILE: on_queue_full=block) into a receiver that answers
#            every request SPOOL_SLOW_DELAY_MS (50) ms late: all received,
#            0 dropped, 0 duplicates.
#   outage   a live-rate stream (stream_gen --rate: SPOOL_RATE spans/s for
#            SPOOL_SECONDS s) through a pipe (on_queue_full=drop) while the
#            receiver is down SPOOL_OUTAGE s in the middle, spool on: every span
#            received, 0 duplicates, RSS bounded, spool back to 0 bytes.
#   kill     the same, with kill -9 of bpftrace-otel in the middle of the
#            outage and a new instance (with a new stream) on the same spool:
#            everything that was spooled arrives; duplicates only from requests
#            counted as resent, at most one per worker.
#   corrupt  a spool left by a run against a dead collector, then damaged
#            (flipped bytes mid-file, truncated last record, a zero-length
#            segment, a foreign file, a file named like a segment): the next
#            run starts, sends every good record, counts the bad ones.
#   tmpfs    (root) the spool on a SPOOL_TMPFS_SIZE tmpfs that fills while the
#            receiver is down: counted drops, no crash, no busy loop; a second
#            run delivers exactly what was not counted as dropped.
#   second   a second instance on the same spool directory is refused, with a
#            message naming the first one's pid.
#   term     on_queue_full=block with a dead collector: the reader waits; SIGTERM
#            must still end the run within --shutdown-timeout (+1 s).
#
#   scripts/spool-soak.sh                                     # full length (~5 min)
#   SPOOL_SECONDS=20 SPOOL_OUTAGE=10 scripts/spool-soak.sh    # as CI runs it (ctest -R spool_soak)
#   SPOOL_PHASES=outage,kill BTO_BUILD=build-x scripts/spool-soak.sh
#
# Builds nothing: cmake --build BUILD --target bpftrace-otel stream_gen fault_receiver
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BTO_BUILD:-$ROOT/build}
BIN=${BTO_BIN:-$BUILD/bpftrace-otel}
TOOLS=${SOAK_TOOLS:-$BUILD/bench}
PHASES=${SPOOL_PHASES:-slow,outage,kill,corrupt,tmpfs,second,term}
SLOW_SPANS=${SPOOL_SLOW_SPANS:-500000}
SLOW_DELAY_MS=${SPOOL_SLOW_DELAY_MS:-50}
RATE=${SPOOL_RATE:-20000}        # spans per second (two events each)
SECONDS_TOTAL=${SPOOL_SECONDS:-60}
OUTAGE=${SPOOL_OUTAGE:-45}
TMPFS_SIZE=${SPOOL_TMPFS_SIZE:-8m}
RSS_BOUND_MIB=${SPOOL_RSS_BOUND_MIB:-100}
WORKERS=2                         # max_concurrent_exports (default)
BATCH=512                         # max_export_batch_size (default)
OUT=${SPOOL_DIR:-$(mktemp -d /tmp/bto-spool-soak.XXXXXX)}
mkdir -p "$OUT"
# A directory of our own choosing is removed after a run that passed (SPOOL_KEEP=1 keeps it).
REMOVE_OUT=$([[ -z ${SPOOL_DIR:-} && -z ${SPOOL_KEEP:-} ]] && echo 1 || echo 0)

for f in "$BIN" "$TOOLS/stream_gen" "$TOOLS/fault_receiver"; do
  [[ -x $f ]] || { echo "spool-soak: $f missing; build it first (see the header of $0)" >&2; exit 2; }
done

source "$ROOT/scripts/soak-lib.sh"

gen_spans() { grep -o 'spans=[0-9]*' "$1" | tail -1 | cut -d= -f2; }
# A value from our summary (key=value pairs of the last summary line).
sum() {
  summary_kv "$1"
  kv "$1.kv" "$2"
}
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1" | tail -1; }
# Spans the correlator finished (every outcome), from a summary.
produced_of() {
  summary_kv "$1"
  local k=$1.kv
  echo $(($(kv "$k" ended) + $(kv "$k" single) + $(kv "$k" timed_out) + $(kv "$k" evicted) + $(kv "$k" superseded) +
    $(kv "$k" from_orphan_end) + $(kv "$k" flushed_at_exit) - $(kv "$k" sampled_out)))
}
segments_in() { find "$1" -maxdepth 1 -name 'segment-*.spool' 2>/dev/null | wc -l; }
check() {  # description condition...
  local what=$1
  shift
  if "$@"; then say "  ok: $what"; else fail "$what"; fi
}
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# Starts bpftrace-otel reading a paced stream; sets RUN_PID. Extra args after the name.
start_live() {  # name seed events spool_dir [bpftrace-otel args]
  local name=$1 seed=$2 events=$3 dir=$4
  shift 4
  ( trap '' PIPE; exec "$TOOLS/stream_gen" --events "$events" --open 256 --nesting 0.3 --seed "$seed" \
      --rate $((2 * RATE)) 2>"$OUT/$name.gen" ) |
    "$BIN" --input - --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" --spool-dir "$dir" \
      --schedule-delay 200ms --shutdown-timeout "${SHUTDOWN:-300s}" --metrics-listen "127.0.0.1:$MPORT" --status-interval 5s \
      "$@" >"$OUT/$name.out" 2>"$OUT/$name.log" &
  RUN_PID=$!
  STARTED_PIDS+=("$RUN_PID")
}

# A run that only sends what a spool holds (empty input), until it is empty.
drain_spool() {  # name spool_dir
  local status=0
  "$BIN" --input /dev/null --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" --spool-dir "$2" \
    --shutdown-timeout 120s >"$OUT/$1.out" 2>"$OUT/$1.log" || status=$?
  return $status
}

phase_slow() {
  local name=slow status=0 t0 spans
  say ""
  say "== slow: $SLOW_SPANS spans from a regular file, receiver answers each request ${SLOW_DELAY_MS} ms late"
  "$TOOLS/stream_gen" --events $((2 * SLOW_SPANS)) --open 256 --nesting 0.3 --seed 11 -o "$OUT/slow.jsonl" \
    2>"$OUT/$name.gen"
  spans=$(gen_spans "$OUT/$name.gen")
  start_receiver "$name" ok:1000000000 --delay-ms "$SLOW_DELAY_MS"
  MPORT=$(free_port)
  t0=$(date +%s.%N)
  "$BIN" --input "$OUT/slow.jsonl" --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" \
    --metrics-listen "127.0.0.1:$MPORT" --shutdown-timeout 60s >"$OUT/$name.out" 2>"$OUT/$name.log" &
  RUN_PID=$!
  STARTED_PIDS+=("$RUN_PID")
  watch_process "$name" "$RUN_PID" "$MPORT"
  wait "$RUN_PID" || status=$?
  local took
  took=$(seconds_since "$t0")
  stop_receiver
  rm -f "$OUT/slow.jsonl"
  local r=$OUT/$name.stats received dups
  received=$(kv "$r" spans_received)
  dups=$(kv "$r" duplicates)
  say "  stream_gen spans=$spans; bpftrace-otel exit $status after $took s; exported=$(sum "$OUT/$name.log" exported) dropped=$(sum "$OUT/$name.log" dropped) queue_full=$(sum "$OUT/$name.log" queue_full) queue_waits=$(sum "$OUT/$name.log" queue_waits) queue_wait_ms=$(sum "$OUT/$name.log" queue_wait_ms) requests=$(sum "$OUT/$name.log" requests)"
  say "  receiver: received=$received duplicates=$dups requests=$(kv "$r" requests); peak RSS $(($(kv "$OUT/$name.rss" hwm_kb) / 1024)) MiB"
  check "exit status 0" test "$status" -eq 0
  check "every span received ($received of $spans)" test "$received" -eq "$spans"
  check "0 duplicates" test "$dups" -eq 0
  check "0 dropped" test "$(sum "$OUT/$name.log" dropped)" -eq 0
  echo "slow spans=$spans received=$received duplicates=$dups seconds=$took requests=$(kv "$r" requests) hwm_kb=$(kv "$OUT/$name.rss" hwm_kb)" >>"$OUT/figures.txt"
}

# The receiver's schedule: up, down OUTAGE s in the middle, up again.
outage_schedule() {
  local before=$(((SECONDS_TOTAL - OUTAGE) * 1000 / 2))
  echo "ok:$before,down:$((OUTAGE * 1000)),ok:1000000000"
}

phase_outage() {
  local name=outage status=0 t0 dir=$OUT/outage-spool
  say ""
  say "== outage: $RATE spans/s for $SECONDS_TOTAL s through a pipe, receiver down $OUTAGE s in the middle, spool on"
  rm -rf "$dir"
  start_receiver "$name" "$(outage_schedule)"
  MPORT=$(free_port)
  t0=$(date +%s.%N)
  start_live "$name" 21 $((2 * RATE * SECONDS_TOTAL)) "$dir"
  watch_process "$name" "$RUN_PID" "$MPORT"
  wait "$RUN_PID" || status=$?
  local took
  took=$(seconds_since "$t0")
  stop_receiver
  local log=$OUT/$name.log r=$OUT/$name.stats spans received dups produced
  spans=$(gen_spans "$OUT/$name.gen")
  received=$(kv "$r" spans_received)
  dups=$(kv "$r" duplicates)
  produced=$(produced_of "$log")
  local hwm cpu
  hwm=$(kv "$OUT/$name.rss" hwm_kb)
  cpu=$(kv "$OUT/$name.rss" cpu_ticks)
  say "  stream_gen spans=$spans produced=$produced; exit $status after $took s (stream $SECONDS_TOTAL s)"
  say "  spool: spooled=$(sum "$log" spooled) (requests $(sum "$log" spooled_requests)) replayed=$(sum "$log" replayed) peak $(($(kv "$OUT/$name.rss" spool_peak_bytes) / 1048576)) MiB, final bytes=$(sum "$log" bytes); dropped=$(sum "$log" dropped) queue_full=$(sum "$log" queue_full)"
  say "  receiver: received=$received duplicates=$dups; peak RSS $((hwm / 1024)) MiB; CPU $(awk -v t="$cpu" 'BEGIN { printf "%.1f", t / 100 }') s"
  check "exit status 0" test "$status" -eq 0
  check "every span received ($received of $spans)" test "$received" -eq "$spans"
  check "produced == written ($produced)" test "$produced" -eq "$spans"
  check "0 duplicates" test "$dups" -eq 0
  check "0 dropped" test "$(sum "$log" dropped)" -eq 0
  check "the outage went through the spool" test "$(sum "$log" spooled)" -gt 0
  check "spool back to 0 bytes, no segment left" test "$(sum "$log" bytes)" -eq 0 -a "$(segments_in "$dir")" -eq 0
  check "peak RSS $((hwm / 1024)) MiB <= $RSS_BOUND_MIB MiB" test $((hwm / 1024)) -le "$RSS_BOUND_MIB"
  echo "outage rate=$RATE seconds=$SECONDS_TOTAL outage=$OUTAGE spans=$spans received=$received duplicates=$dups spooled=$(sum "$log" spooled) spool_peak_bytes=$(kv "$OUT/$name.rss" spool_peak_bytes) hwm_kb=$hwm cpu_ticks=$cpu wall=$took" >>"$OUT/figures.txt"
}

phase_kill() {
  local name=kill dir=$OUT/kill-spool status=0
  say ""
  say "== kill: as outage, kill -9 of bpftrace-otel $((OUTAGE / 2)) s into the outage, a new instance on the same spool"
  rm -rf "$dir"
  start_receiver "$name" "$(outage_schedule)"
  local t0 kill_at=$(((SECONDS_TOTAL - OUTAGE) / 2 + OUTAGE / 2))
  MPORT=$(free_port)
  t0=$(date +%s.%N)
  start_live kill1 31 $((2 * RATE * SECONDS_TOTAL)) "$dir"
  local first=$RUN_PID
  watch_process kill1 "$first" "$MPORT" &
  local watcher=$!
  sleep "$kill_at"
  # What the spool holds just before the kill (it only grows during the outage).
  curl -s --max-time 2 "http://127.0.0.1:$MPORT/metrics" >"$OUT/kill1.at-kill.metrics" || true
  kill -USR1 "$RECEIVER_PID"
  sleep 0.3
  cp "$OUT/$name.stats" "$OUT/$name.at-kill.stats"
  kill -KILL "$first"
  wait "$first" 2>/dev/null || true
  wait "$watcher" || true
  local m=$OUT/kill1.at-kill.metrics pending queued
  pending=$(($(metric "$m" bpftrace_otel_spool_spans_spooled_total) - $(metric "$m" bpftrace_otel_spool_spans_replayed_total) - $(awk '$1 == "bpftrace_otel_spans_dropped_total{reason=\"spool_full\"}" { print $2 }' "$m")))
  queued=$(metric "$m" bpftrace_otel_export_queue_size)
  local received_at_kill
  received_at_kill=$(kv "$OUT/$name.at-kill.stats" spans_received)
  say "  killed pid $first at $(seconds_since "$t0") s: spans on disk (spooled - replayed - dropped) >= $pending, in the memory queue $queued, received so far $received_at_kill; spool files: $(segments_in "$dir")"
  # The second instance: a new stream for the rest of the time, the same spool.
  MPORT=$(free_port)
  start_live kill2 32 $((2 * RATE * (SECONDS_TOTAL - kill_at))) "$dir"
  watch_process kill2 "$RUN_PID" "$MPORT"
  wait "$RUN_PID" || status=$?
  stop_receiver
  local log=$OUT/kill2.log r=$OUT/$name.stats received dups produced2 resent
  received=$(kv "$r" spans_received)
  dups=$(kv "$r" duplicates)
  produced2=$(produced_of "$log")
  resent=$(sum "$log" resent_requests)
  local from_spool=$((received - received_at_kill - produced2))
  say "  second instance: exit $status; produced=$produced2 replayed=$(sum "$log" replayed) resent_requests=$resent dropped=$(sum "$log" dropped) final spool bytes=$(sum "$log" bytes)"
  say "  receiver: received=$received duplicates=$dups; delivered from the first run's spool: $from_spool (at least $pending expected)"
  check "second instance exit status 0" test "$status" -eq 0
  check "everything the first run had spooled arrived ($from_spool >= $pending)" test "$from_spool" -ge "$pending"
  check "the second run's own spans all arrived" test "$((received - received_at_kill))" -ge "$produced2"
  check "resent requests ($resent) <= one per worker ($WORKERS)" test "$resent" -le "$WORKERS"
  check "duplicates ($dups) <= resent requests x batch ($((resent * BATCH)))" test "$dups" -le $((resent * BATCH))
  check "second run dropped nothing" test "$(sum "$log" dropped)" -eq 0
  check "spool back to 0 bytes" test "$(sum "$log" bytes)" -eq 0 -a "$(segments_in "$dir")" -eq 0
  echo "kill pending_at_kill=$pending queued_at_kill=$queued received_at_kill=$received_at_kill produced2=$produced2 received=$received from_spool=$from_spool duplicates=$dups resent=$resent hwm_kb_second=$(kv "$OUT/kill2.rss" hwm_kb)" >>"$OUT/figures.txt"
}

# Flips one byte at `offset` of `file`.
flip_byte() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 0x5A)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

phase_corrupt() {
  local name=corrupt dir=$OUT/corrupt-spool status=0
  say ""
  say "== corrupt: a spool left by a run against a dead collector, damaged, then sent by the next run"
  rm -rf "$dir"
  start_receiver corrupt1 down:1000000000
  ( "$TOOLS/stream_gen" --events 100000 --open 256 --seed 41 2>"$OUT/corrupt1.gen" ) |
    "$BIN" --input - --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" --spool-dir "$dir" \
      --spool-max-size 64MiB --shutdown-timeout 5s >"$OUT/corrupt1.out" 2>"$OUT/corrupt1.log" || status=$?
  stop_receiver
  local spooled
  spooled=$(sum "$OUT/corrupt1.log" spooled)
  say "  first run: exit $status, spooled=$spooled (requests $(sum "$OUT/corrupt1.log" spooled_requests)) dropped=$(sum "$OUT/corrupt1.log" dropped), $(segments_in "$dir") segment(s)"
  check "first run kept everything ($spooled of $(gen_spans "$OUT/corrupt1.gen"))" test "$spooled" -eq "$(gen_spans "$OUT/corrupt1.gen")"
  local files first last size
  files=$(find "$dir" -name 'segment-*.spool' | sort)
  first=$(head -1 <<<"$files")
  last=$(tail -1 <<<"$files")
  size=$(stat -c %s "$first")
  flip_byte "$first" $((size / 2))                       # bit rot in the middle of a record
  truncate -s -100 "$last"                                # a write cut short by a crash
  local next_id
  next_id=$(basename "$last" | sed 's/segment-0*\([0-9]*\)\.spool/\1/')
  : >"$dir/$(printf 'segment-%020d.spool' $((next_id + 1)))"  # created, never written
  echo "not a spool file" >"$dir/README.txt"                  # foreign, other name
  echo "garbage named like a segment" >"$dir/segment-00000000000000000000.spool"
  start_receiver "$name" ok:1000000000
  status=0
  drain_spool "$name" "$dir" || status=$?
  stop_receiver
  local log=$OUT/$name.log received dups corrupt
  received=$(kv "$OUT/$name.stats" spans_received)
  dups=$(kv "$OUT/$name.stats" duplicates)
  corrupt=$(sum "$log" corrupt)
  say "  second run: exit $status; replayed=$(sum "$log" replayed) (requests $(sum "$log" replayed_requests)) corrupt=$corrupt corrupt_bytes=$(sum "$log" corrupt_bytes); receiver: received=$received duplicates=$dups; lost with the damaged records: $((spooled - received)) spans"
  check "second run exit status 0" test "$status" -eq 0
  check "3 damaged stretches counted (flip, truncation, impostor)" test "$corrupt" -eq 3
  check "good records all sent: lost ($((spooled - received))) within the 2 damaged records (<= $((2 * BATCH)) spans)" \
    test $((spooled - received)) -ge 1 -a $((spooled - received)) -le $((2 * BATCH))
  check "0 duplicates" test "$dups" -eq 0
  check "the foreign file is left alone" test -f "$dir/README.txt"
  check "the impostor is set aside" test -f "$dir/segment-00000000000000000000.spool.corrupt"
  check "no segment left" test "$(segments_in "$dir")" -eq 0
  echo "corrupt spooled=$spooled received=$received corrupt=$corrupt corrupt_bytes=$(sum "$log" corrupt_bytes) duplicates=$dups" >>"$OUT/figures.txt"
}

phase_tmpfs() {
  local name=tmpfs mnt=$OUT/tmpfs status=0
  say ""
  if [[ $(id -u) != 0 ]]; then
    say "== tmpfs: SKIPPED (needs root to mount a tmpfs)"
    return
  fi
  say "== tmpfs: spool on a $TMPFS_SIZE tmpfs, receiver down, $RATE spans/s for 10 s"
  mkdir -p "$mnt"
  mount -t tmpfs -o size="$TMPFS_SIZE" tmpfs "$mnt" || { fail "tmpfs: cannot mount"; return; }
  start_receiver "$name" down:1000000000
  MPORT=$(free_port)
  local t0
  t0=$(date +%s.%N)
  SHUTDOWN=5s start_live "$name" 51 $((2 * RATE * 10)) "$mnt/spool"
  watch_process "$name" "$RUN_PID" "$MPORT"
  wait "$RUN_PID" || status=$?
  local took
  took=$(seconds_since "$t0")
  stop_receiver
  local log=$OUT/$name.log cpu produced dropped full
  cpu=$(kv "$OUT/$name.rss" cpu_ticks)
  produced=$(produced_of "$log")
  dropped=$(sum "$log" dropped)
  full=$(sum "$log" spool_full)
  say "  exit $status after $took s; produced=$produced spooled=$(sum "$log" spooled) dropped=$dropped (spool_full=$full, requests $(sum "$log" spool_dropped_requests)) peak spool $(($(kv "$OUT/$name.rss" spool_peak_bytes) / 1024)) KiB; CPU $(awk -v t="$cpu" 'BEGIN { printf "%.2f", t / 100 }') s"
  check "exit status 0" test "$status" -eq 0
  check "the full disk shows as counted spool_full drops ($full)" test "$full" -gt 0 -a "$full" -eq "$dropped"
  check "no busy loop: CPU $(awk -v t="$cpu" 'BEGIN { printf "%.2f", t / 100 }') s over $took s is under 50 % of one core" \
    awk -v t="$cpu" -v w="$took" 'BEGIN { exit !(t / 100 < 0.5 * w) }'
  start_receiver tmpfs-drain ok:1000000000
  status=0
  drain_spool tmpfs-drain "$mnt/spool" || status=$?
  stop_receiver
  local received
  received=$(kv "$OUT/tmpfs-drain.stats" spans_received)
  say "  drain run: exit $status, received=$received = produced - dropped = $((produced - dropped))"
  check "exactly what was not counted as dropped arrives" test "$received" -eq $((produced - dropped))
  check "0 duplicates" test "$(kv "$OUT/tmpfs-drain.stats" duplicates)" -eq 0
  umount "$mnt" || umount -l "$mnt"
  echo "tmpfs size=$TMPFS_SIZE produced=$produced spool_full=$full received_after=$received cpu_ticks=$cpu wall=$took" >>"$OUT/figures.txt"
}

phase_second() {
  local name=second dir=$OUT/second-spool status=0 i
  say ""
  say "== second: two instances on one spool directory"
  rm -rf "$dir"
  start_receiver "$name" ok:1000000000
  MPORT=$(free_port)
  local saved=$RATE
  RATE=500
  start_live second1 61 100000 "$dir"
  RATE=$saved
  local first=$RUN_PID
  for ((i = 0; i < 100; i++)); do [[ -s $dir/lock ]] && break; sleep 0.05; done
  "$BIN" --input /dev/null --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" --spool-dir "$dir" \
    >"$OUT/second2.out" 2>"$OUT/second2.log" || status=$?
  kill -TERM "$first"
  wait "$first" || true
  stop_receiver
  say "  second instance: exit $status: $(head -1 "$OUT/second2.log")"
  check "refused (exit 2)" test "$status" -eq 2
  check "the message names the running instance's pid ($first) and what to do" \
    grep -q "in use by another running bpftrace-otel (pid $first); each instance needs its own --spool-dir" "$OUT/second2.log"
}

phase_term() {
  local name=term status=0 i deadline=3
  say ""
  say "== term: block mode, dead collector, SIGTERM while the reader waits (--shutdown-timeout ${deadline}s)"
  "$TOOLS/stream_gen" --events 400000 --open 256 --seed 71 -o "$OUT/term.jsonl" 2>"$OUT/$name.gen"
  start_receiver "$name" down:1000000000
  MPORT=$(free_port)
  "$BIN" --input "$OUT/term.jsonl" --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" \
    --metrics-listen "127.0.0.1:$MPORT" --shutdown-timeout "${deadline}s" >"$OUT/$name.out" 2>"$OUT/$name.log" &
  RUN_PID=$!
  STARTED_PIDS+=("$RUN_PID")
  local waiting=0
  for ((i = 0; i < 200; i++)); do
    local w
    w=$(curl -s --max-time 1 "http://127.0.0.1:$MPORT/metrics" |
      awk '$1 == "bpftrace_otel_export_queue_full_waits_total" { print $2 }' || true)
    if [[ -n $w && $w -gt 0 ]]; then waiting=1; break; fi
    sleep 0.1
  done
  check "the reader waits for room (export_queue_full_waits_total > 0)" test "$waiting" -eq 1
  sleep 0.5
  local t0 took
  t0=$(date +%s.%N)
  kill -TERM "$RUN_PID"
  wait "$RUN_PID" || status=$?
  took=$(seconds_since "$t0")
  stop_receiver
  rm -f "$OUT/term.jsonl"
  say "  exit $status after $took s; dropped=$(sum "$OUT/$name.log" dropped) (shutdown=$(sum "$OUT/$name.log" shutdown) retries_exhausted=$(sum "$OUT/$name.log" retries_exhausted) queue_full=$(sum "$OUT/$name.log" queue_full))"
  check "exit status 0" test "$status" -eq 0
  check "SIGTERM honoured within the deadline (+1 s): $took s" awk -v t="$took" -v d="$deadline" 'BEGIN { exit !(t <= d + 1) }'
  echo "term exit_seconds=$took deadline=$deadline" >>"$OUT/figures.txt"
}

say "spool-soak: $(date -u '+%Y-%m-%d %H:%M UTC'), binary $BIN, output in $OUT, load $(cut -d' ' -f1-3 /proc/loadavg)"
IFS=, read -ra phase_list <<<"$PHASES"
for phase in "${phase_list[@]}"; do
  "phase_$phase"
done

say ""
if ((FAILED)); then
  say "spool-soak: FAILED (see above; logs in $OUT)"
  exit 1
fi
if ((REMOVE_OUT)); then
  say "spool-soak: every check passed"
  rm -rf "$OUT"
else
  say "spool-soak: every check passed (logs in $OUT)"
fi
