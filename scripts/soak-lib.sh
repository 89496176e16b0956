# Shared by the soak scripts (scripts/soak.sh, scripts/spool-soak.sh): report
# lines, child-process cleanup, ports, key=value figures, the fault receiver,
# and a watcher that samples our RSS, CPU and /metrics. Sourced, not run.
# Expects OUT (output directory) and TOOLS (bench tools directory) to be set.

FAILED=0
REPORT=$OUT/report.txt
: >"$REPORT"
say() { echo "$*" | tee -a "$REPORT"; }
fail() { say "FAIL: $*"; FAILED=1; }

STARTED_PIDS=()
cleanup() {
  # Only processes still our children: a reaped PID may belong to someone else by now.
  local p
  for p in "${STARTED_PIDS[@]}"; do
    [[ $(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) == "$$" ]] && kill -TERM "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_file() {  # path timeout_s
  local i
  for ((i = 0; i < $2 * 20; i++)); do [[ -s $1 ]] && return 0; sleep 0.05; done
  return 1
}

# key=value from a file of key=value lines
kv() { sed -n "s/^$2=//p" "$1" | tail -1; }

# Figures from the "summary: ..." line of bpftrace-otel's log: key=value pairs.
summary_kv() { grep -o 'summary: .*' "$1" | tail -1 | grep -o '[a-z_]*=[0-9]*' >"$1.kv"; }


start_receiver() {  # name schedule [extra args]
  local name=$1 schedule=$2
  shift 2
  rm -f "$OUT/$name.port" "$OUT/$name.stats"
  "$TOOLS/fault_receiver" --port-file "$OUT/$name.port" --stats-file "$OUT/$name.stats" \
    --schedule "$schedule" --retry-after 1 --stall-ms "${STALL_MS:-3000}" "$@" >"$OUT/$name.receiver.log" 2>&1 &
  RECEIVER_PID=$!
  STARTED_PIDS+=("$RECEIVER_PID")
  wait_file "$OUT/$name.port" 5 || { echo "soak: receiver did not start" >&2; exit 1; }
  RECEIVER_PORT=$(cat "$OUT/$name.port")
}

stop_receiver() {
  kill -TERM "$RECEIVER_PID"
  wait "$RECEIVER_PID" || true
}

# Samples VmHWM/VmRSS and CPU time (user+sys clock ticks) of PID every 0.2 s
# until it exits, and scrapes /metrics every 2 s (keeping the peak of
# bpftrace_otel_spool_bytes); writes the last values to $OUT/$name.rss and
# $OUT/$name.metrics.
watch_process() {  # name pid metrics_port
  local name=$1 pid=$2 mport=$3 n=0 hwm="" rss="" ticks="" spool_peak=0
  while [[ -r /proc/$pid/status ]]; do
    local line t
    line=$(awk '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { print h, r }' "/proc/$pid/status" 2>/dev/null || true)
    if [[ -n ${line// /} ]]; then
      hwm=${line% *}
      rss=${line#* }
    fi
    t=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }' || true)
    [[ -n $t ]] && ticks=$t
    if ((n % 10 == 0)); then
      if curl -s --max-time 1 "http://127.0.0.1:$mport/metrics" >"$OUT/$name.metrics.tmp" 2>/dev/null; then
        mv "$OUT/$name.metrics.tmp" "$OUT/$name.metrics"
        local spool
        spool=$(awk '$1 == "bpftrace_otel_spool_bytes" { print $2 }' "$OUT/$name.metrics")
        [[ -n $spool ]] && ((spool > spool_peak)) && spool_peak=$spool
      fi
    fi
    n=$((n + 1))
    printf 'hwm_kb=%s\nrss_kb=%s\ncpu_ticks=%s\nspool_peak_bytes=%s\n' "$hwm" "$rss" "$ticks" "$spool_peak" >"$OUT/$name.rss"
    sleep 0.2
  done
}

