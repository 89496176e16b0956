#!/usr/bin/env bash
# Fault soak (issue 9, docs/reliability.md "Faults soak"). Runs the real
# bpftrace-otel binary against bench/tools/fault_receiver, a loopback
# OTLP/HTTP receiver that answers 503, 429 (Retry-After), resets connections,
# stalls past the exporter's timeout and closes its port for seconds, on a
# schedule, and checks from our counters and the receiver's that
#
#     spans received (distinct span ids) + spans we counted as dropped == spans produced
#
# holds EXACTLY in every phase. Exits non-zero when it does not.
#
# Phases (SOAK_PHASES, comma-separated, default all three):
#   replay  SOAK_EVENTS events (default 20M) of bench/tools/stream_gen piped at
#           full speed into `bpftrace-otel --input -`, exporting through the faults.
#   kill    live mode: real bpftrace (examples/scripts/http.bt) on the demo server
#           under demo-loadgen load; bpftrace is killed with SIGKILL SOAK_KILLS
#           times (default 2) and the restart policy must bring it back.
#   term    receiver answers 503 with Retry-After: 20; SIGTERM while the exporter
#           sleeps in that backoff; exit must come within --shutdown-timeout (+1 s).
#
#   scripts/soak.sh                                   # binaries of build/, 20M events
#   SOAK_EVENTS=2000000 scripts/soak.sh               # quick run
#   BTO_BUILD=build-soak scripts/soak.sh              # binaries of another build dir
#
# Needs root for the kill phase (bpftrace); it is skipped, with a notice, otherwise.
# Builds nothing: cmake --build BUILD --target bpftrace-otel stream_gen fault_receiver demo-server demo-loadgen
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BTO_BUILD:-$ROOT/build}
BIN=${BTO_BIN:-$BUILD/bpftrace-otel}
TOOLS=${SOAK_TOOLS:-$BUILD/bench}
DEMO=${SOAK_DEMO:-$BUILD/examples/bin}
EVENTS=${SOAK_EVENTS:-20000000}
PHASES=${SOAK_PHASES:-replay,kill,term}
KILLS=${SOAK_KILLS:-2}
LIVE_SECONDS=${SOAK_LIVE_SECONDS:-20}
LIVE_RATE=${SOAK_LIVE_RATE:-2000}   # requests/s of demo-loadgen in the kill phase
# One cycle is 30 s: every fault at least once per cycle.
SCHEDULE=${SOAK_SCHEDULE:-ok:4000,503:2000,ok:3000,429:2000,ok:3000,reset:2000,ok:3000,stall:4000,ok:3000,down:4000}
EXPORT_TIMEOUT_MS=2000   # per request (--timeout): the stall mode holds requests for 3 s
STALL_MS=3000
TERM_DEADLINE_S=3
OUT=${SOAK_DIR:-$(mktemp -d /tmp/bto-soak.XXXXXX)}
mkdir -p "$OUT"

for f in "$BIN" "$TOOLS/stream_gen" "$TOOLS/fault_receiver"; do
  [[ -x $f ]] || { echo "soak: $f missing; build it first (see the header of $0)" >&2; exit 2; }
done

source "$ROOT/scripts/soak-lib.sh"

# The accounting check of one phase. Reads $OUT/$name.log (our summary) and
# $OUT/$name.stats (receiver).
check_phase() {  # name
  local name=$1 log=$OUT/$1.log
  summary_kv "$log"
  local s=$log.kv r=$OUT/$1.stats
  if [[ ! -s $s ]]; then
    fail "$name: no summary line in $log"
    return
  fi
  local ended single timed_out evicted superseded orphan flushed sampled_out
  ended=$(kv "$s" ended); single=$(kv "$s" single); timed_out=$(kv "$s" timed_out)
  evicted=$(kv "$s" evicted); superseded=$(kv "$s" superseded); orphan=$(kv "$s" from_orphan_end)
  flushed=$(kv "$s" flushed_at_exit); sampled_out=$(kv "$s" sampled_out)
  local produced=$((ended + single + timed_out + evicted + superseded + orphan + flushed - sampled_out))
  local exported dropped qf perm rex shut
  exported=$(kv "$s" exported); dropped=$(kv "$s" dropped)
  qf=$(kv "$s" queue_full); perm=$(kv "$s" rejected); rex=$(kv "$s" retries_exhausted); shut=$(kv "$s" shutdown)
  local received dups ok_spans
  received=$(kv "$r" spans_received); dups=$(kv "$r" duplicates); ok_spans=$(kv "$r" spans_in_ok_requests)
  local hwm rss
  hwm=$(kv "$OUT/$name.rss" hwm_kb); rss=$(kv "$OUT/$name.rss" rss_kb)

  say ""
  say "== $name"
  say "produced (correlator outcomes)            $produced  (ended=$ended single=$single timed_out=$timed_out evicted=$evicted superseded=$superseded orphan_end=$orphan flushed_at_exit=$flushed sampled_out=$sampled_out)"
  say "exported (ours: 2xx seen)                 $exported"
  say "dropped (ours)                            $dropped  (queue_full=$qf permanent=$perm retries_exhausted=$rex shutdown=$shut)"
  say "received (receiver, distinct span ids)    $received  (in 200-answered requests: $ok_spans, duplicates: $dups)"
  say "receiver requests                         $(kv "$r" requests) (ok=$(kv "$r" answered_ok) 503=$(kv "$r" answered_503) 429=$(kv "$r" answered_429) reset=$(kv "$r" answered_reset) stall=$(kv "$r" answered_stall) cut_by_down=$(kv "$r" answered_down)); phases ok=$(kv "$r" phases_ok) 503=$(kv "$r" phases_503) 429=$(kv "$r" phases_429) reset=$(kv "$r" phases_reset) stall=$(kv "$r" phases_stall) down=$(kv "$r" phases_down); bad_requests=$(kv "$r" bad_requests) bad_ids=$(kv "$r" bad_ids) not_traces=$(kv "$r" other_requests)"
  say "export requests / retries (ours)          $(kv "$s" requests) / $(kv "$s" retries)"
  say "bpftrace starts / restarts                $(kv "$s" starts) / $(kv "$s" restarts)"
  say "RSS of bpftrace-otel: peak (VmHWM) / final (VmRSS)   $((hwm / 1024)) MiB / $((rss / 1024)) MiB"
  if ((exported + dropped != produced)); then
    fail "$name: exported + dropped = $((exported + dropped)) != produced $produced (a span was lost inside the pipeline)"
  fi
  if ((received + dropped == produced)); then
    say "invariant received + dropped == produced: $received + $dropped == $produced  OK"
  else
    fail "$name: invariant received + dropped == produced broken: $received + $dropped = $((received + dropped)) != $produced (difference $((received + dropped - produced)))"
  fi
  if ((exported != received)); then
    fail "$name: we counted $exported exported but the receiver got $received distinct spans"
  fi
  if (($(kv "$r" bad_requests) != 0 || $(kv "$r" bad_ids) != 0)); then
    fail "$name: the receiver got malformed requests or ids"
  fi
  echo "$name produced=$produced exported=$exported dropped=$dropped queue_full=$qf permanent=$perm retries_exhausted=$rex shutdown=$shut received=$received duplicates=$dups hwm_kb=$hwm rss_kb=$rss" >>"$OUT/figures.txt"
}

phase_replay() {
  local name=replay mport t0 t1 pid status=0
  start_receiver "$name" "$SCHEDULE"
  mport=$(free_port)
  say "replay: $EVENTS events at full speed, receiver schedule $SCHEDULE (cycled), --timeout ${EXPORT_TIMEOUT_MS}ms, stall ${STALL_MS}ms"
  t0=$(date +%s.%N)
  # The trailing sleep keeps stdin open 2 s after the stream so the final RSS
  # is sampled with everything read.
  ( "$TOOLS/stream_gen" --events "$EVENTS" --open 256 --nesting 0.3 --seed 9 2>"$OUT/$name.gen"; exec sleep 2 ) |
    "$BIN" --input - --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" --timeout "${EXPORT_TIMEOUT_MS}ms" \
      --schedule-delay 200ms --shutdown-timeout 30s --metrics-listen "127.0.0.1:$mport" \
      --status-interval 10s >"$OUT/$name.out" 2>"$OUT/$name.log" &
  pid=$!
  STARTED_PIDS+=("$pid")
  watch_process "$name" "$pid" "$mport"
  wait "$pid" || status=$?
  t1=$(date +%s.%N)
  stop_receiver
  say "replay: bpftrace-otel exited with $status after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s; stream_gen: $(cat "$OUT/$name.gen")"
  ((status == 0)) || fail "replay: exit status $status"
  check_phase "$name"
  local gen_spans produced
  gen_spans=$(grep -o 'spans=[0-9]*' "$OUT/$name.gen" | cut -d= -f2)
  produced=$(awk '/^replay /' "$OUT/figures.txt" | grep -o 'produced=[0-9]*' | cut -d= -f2)
  if [[ $gen_spans != "$produced" ]]; then
    fail "replay: stream_gen wrote $gen_spans spans, the correlator produced $produced"
  else
    say "stream_gen spans == produced: $gen_spans"
  fi
}

bpftrace_child() {  # pid of bpftrace-otel -> its bpftrace child
  cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$' | head -1
}

phase_kill() {
  local name=kill
  if [[ $(id -u) != 0 ]] || ! command -v bpftrace >/dev/null; then
    say "kill: SKIPPED (needs root and bpftrace)"
    return
  fi
  [[ -x $DEMO/demo-server && -x $DEMO/demo-loadgen ]] || { fail "kill: $DEMO/demo-server or demo-loadgen missing"; return; }
  start_receiver "$name" "$SCHEDULE"
  local mport server_pid pid load_pid status=0 i
  mport=$(free_port)
  rm -f "$OUT/demo.port"
  "$DEMO/demo-server" --port 0 --port-file "$OUT/demo.port" --quiet >"$OUT/demo.log" 2>&1 &
  server_pid=$!
  STARTED_PIDS+=("$server_pid")
  wait_file "$OUT/demo.port" 5 || { fail "kill: demo-server did not start"; return; }
  "$BIN" --script "$ROOT/examples/scripts/http.bt" --pid "$server_pid" \
    --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" --timeout "${EXPORT_TIMEOUT_MS}ms" \
    --schedule-delay 200ms --shutdown-timeout 30s --metrics-listen "127.0.0.1:$mport" \
    >"$OUT/$name.out" 2>"$OUT/$name.log" &
  pid=$!
  STARTED_PIDS+=("$pid")
  watch_process "$name" "$pid" "$mport" &
  local watcher=$!
  for ((i = 0; i < 300; i++)); do grep -q 'bpftrace attached its probes' "$OUT/$name.log" && break; sleep 0.1; done
  grep -q 'bpftrace attached its probes' "$OUT/$name.log" || { fail "kill: bpftrace did not attach"; kill -TERM "$pid"; return; }
  # Paced so that it lasts about LIVE_SECONDS (it keeps one record per request in memory).
  "$DEMO/demo-loadgen" --port "$(cat "$OUT/demo.port")" --requests $((LIVE_SECONDS * LIVE_RATE)) --rate "$LIVE_RATE" \
    --concurrency 8 --mix users,orders,error,items,notfound >"$OUT/loadgen.log" 2>&1 &
  load_pid=$!
  STARTED_PIDS+=("$load_pid")
  local per=$((LIVE_SECONDS / (KILLS + 1))) k bt
  for ((k = 1; k <= KILLS; k++)); do
    sleep "$per"
    bt=$(bpftrace_child "$pid")
    if [[ -z $bt ]]; then fail "kill: no bpftrace child to kill"; break; fi
    say "kill: SIGKILL bpftrace pid $bt ($k of $KILLS)"
    kill -KILL "$bt"
    # The restart policy must start a new bpftrace that attaches again.
    local attached=0 want=$((k + 1))
    for ((i = 0; i < 200; i++)); do
      if (($(grep -c 'bpftrace attached its probes' "$OUT/$name.log") >= want)); then attached=1; break; fi
      sleep 0.1
    done
    if ((attached)); then say "kill: bpftrace restarted and attached again"; else fail "kill: bpftrace not back within 20 s"; fi
  done
  for ((i = 0; i < LIVE_SECONDS * 20 && $(kill -0 "$load_pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.1; done
  kill -TERM "$load_pid" 2>/dev/null || true
  wait "$load_pid" || true
  sleep 1
  kill -TERM "$pid"
  wait "$pid" || status=$?
  wait "$watcher" || true
  kill -TERM "$server_pid"; wait "$server_pid" || true
  stop_receiver
  say "kill: bpftrace-otel exited with $status; loadgen: $(tail -1 "$OUT/loadgen.log")"
  ((status == 0)) || fail "kill: exit status $status"
  check_phase "$name"
  local restarts
  restarts=$(kv "$OUT/$name.log.kv" restarts)
  ((restarts == KILLS)) || fail "kill: $KILLS SIGKILLs but $restarts restarts"
}

phase_term() {
  local name=term mport pid feeder status=0 i t0 t1
  # Every request gets 503 with Retry-After: 20 s, which the exporter honours
  # (20 s < the 30 s export budget): it sleeps, and SIGTERM comes meanwhile.
  start_receiver "$name" "503:100000000" --retry-after-503 20
  mport=$(free_port)
  rm -f "$OUT/term.fifo"
  mkfifo "$OUT/term.fifo"
  ( "$TOOLS/stream_gen" --events 20000 --open 64 --seed 3 2>"$OUT/$name.gen"; exec sleep 300 ) >"$OUT/term.fifo" &
  feeder=$!
  STARTED_PIDS+=("$feeder")
  "$BIN" --input "$OUT/term.fifo" --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" \
    --schedule-delay 100ms --shutdown-timeout "${TERM_DEADLINE_S}s" --metrics-listen "127.0.0.1:$mport" \
    >"$OUT/$name.out" 2>"$OUT/$name.log" &
  pid=$!
  STARTED_PIDS+=("$pid")
  watch_process "$name" "$pid" "$mport" &
  local watcher=$!
  local retrying=0
  for ((i = 0; i < 200; i++)); do
    if grep -q 'retry 1 of' "$OUT/$name.log"; then retrying=1; break; fi
    sleep 0.05
  done
  ((retrying)) || fail "term: the exporter never went into a retry backoff"
  sleep 0.5
  t0=$(date +%s.%N)
  kill -TERM "$pid"
  wait "$pid" || status=$?
  t1=$(date +%s.%N)
  wait "$watcher" || true
  kill -TERM "$feeder" 2>/dev/null || true
  wait "$feeder" 2>/dev/null || true
  stop_receiver
  local took
  took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  say "term: SIGTERM during a 20 s Retry-After backoff; exited with $status after $(printf '%.2f' "$took") s (--shutdown-timeout ${TERM_DEADLINE_S}s)"
  echo "term_exit_seconds=$took" >>"$OUT/figures.txt"
  ((status == 0)) || fail "term: exit status $status"
  if awk -v t="$took" -v d="$TERM_DEADLINE_S" 'BEGIN { exit !(t > d + 1) }'; then
    fail "term: took $took s, deadline ${TERM_DEADLINE_S}s (+1 s slack)"
  fi
  check_phase "$name"
}

say "soak: $(date -u '+%Y-%m-%d %H:%M UTC'), binary $BIN, output in $OUT, load $(cut -d' ' -f1-3 /proc/loadavg)"
IFS=, read -ra phase_list <<<"$PHASES"
for phase in "${phase_list[@]}"; do
  "phase_$phase"
done

say ""
if ((FAILED)); then
  say "soak: FAILED (see above; logs in $OUT)"
  exit 1
fi
say "soak: all invariants hold (logs in $OUT)"
