#!/bin/bash
# Adversarial-memory runs: feeds hostile streams (fuzz/tools/adversarial_gen.py)
# to the real binary in replay mode and reports peak RSS (/usr/bin/time -v)
# against a bound, plus the key counters of the final summary line.
#
#   scripts/adversarial.sh                 # all cases, default sizes
#   BTO_BIN=build/bpftrace-otel ADV_SCALE=0.1 scripts/adversarial.sh open_ids deep_chain
#
# Bound per case (MiB): 64 (process, parsers, line buffer of 2 x max_line_bytes,
# batch queue) + per_span_kib x spans that may legitimately be open (<= max_open_spans)
# + held_mib for what the case is allowed to keep (documented in docs/reliability.md).
# The issue-17.1 cases (open_big_uri .. big_errors) are bounded by the memory
# budget (--max-memory, default 64 MiB) + the same 64 MiB of fixed overhead.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BTO_BIN:-}
if [ -z "$bin" ]; then
  for candidate in "$root/build/bpftrace-otel" "$root/build-lead/bpftrace-otel"; do
    [ -x "$candidate" ] && bin=$candidate && break
  done
fi
[ -x "$bin" ] || { echo "set BTO_BIN to a bpftrace-otel binary" >&2; exit 2; }
scale=${ADV_SCALE:-1}
gen="$root/fuzz/tools/adversarial_gen.py"
work=${ADV_WORK:-$(mktemp -d)}
max_open=${ADV_MAX_OPEN:-100000}

# case  count  per_span_kib  extra_mib  description
cases_table="
open_ids        5000000  2  0    5M distinct request ids, never ended
huge_values     300      2  32   1 MiB attribute value on each never-ended start
near_limit      300      2  32   lines just under max_line_bytes (1 MiB)
giant_lines     2        2  0    64 MiB lines (skipped)
deep_chain      100000   2  0    parent_id chain 100k deep, ended in reverse
parent_cycles   1000000  2  0    parent_id cycles a->b->a, a->a
many_families   1000000  2  0    1M distinct event families
invalid_utf8    500000   2  0    invalid UTF-8 in every start
lost_flood      1000000  2  0    1M lost_events records
huge_ids        5000     2  32   64 KiB request ids, never ended
open_big_uri    300      2  64   900 KB URI on each never-ended HTTP start
long_families   300      2  64   300 families with 900 KB names
many_attrs      300      2  64   120 attributes of 4 KB on each never-ended start
big_errors      600      2  64   900 KB error strings, collector never answers
"

want=("$@")
failed=0
printf '| case | events | peak RSS (MiB) | bound (MiB) | wall (s) | result | key counters |\n'
printf '|---|---:|---:|---:|---:|---|---|\n'
while read -r name count per_span extra desc; do
  [ -z "$name" ] && continue
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  n=$(/usr/bin/python3 -c "print(max(1, int($count * $scale)))")
  log="$work/$name.log"
  timing="$work/$name.time"
  output=(--exporter none)
  silent_pid=
  if [ "$name" = big_errors ]; then
    # A collector that accepts connections and reads, but never answers.
    port_file="$work/silent.port"
    rm -f "$port_file"
    /usr/bin/python3 -c '
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
def drain(c):
    while c.recv(1 << 16): pass
while True:
    c, _ = s.accept(); threading.Thread(target=drain, args=(c,), daemon=True).start()
' "$port_file" &
    silent_pid=$!
    for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
    output=(--exporter otlp --endpoint "http://127.0.0.1:$(cat "$port_file")/v1/traces" --shutdown-timeout 2s
            --metrics-exporter none)
  fi
  /usr/bin/python3 "$gen" "$name" "$n" |
    /usr/bin/time -v -o "$timing" "$bin" --input - "${output[@]}" --max-open-spans "$max_open" >/dev/null 2>"$log"
  rc=${PIPESTATUS[1]}
  [ -n "$silent_pid" ] && kill "$silent_pid" 2>/dev/null && wait "$silent_pid" 2>/dev/null
  rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$timing")
  rss_mib=$(( rss_kib / 1024 ))
  open=$(( n < max_open ? n : max_open ))
  bound=$(( 64 + per_span * open / 1024 + extra ))
  summary=$(grep -o 'summary: .*' "$log" | tail -1)
  pick() { grep -o "$1=[0-9]*" <<<"$summary" | head -1; }
  counters="$(pick lines) $(pick events) $(pick oversized) $(pick invalid_utf8) $(pick bpftrace_lost_events) $(pick started) $(pick evicted) $(pick flushed_at_exit) $(pick parent_not_found) $(pick families_rejected) $(pick truncated) $(pick memory_evicted) $(pick queue_full) $(pick event_names_too_long) $(pick shutdown)"
  result=pass
  if [ "$rc" -ne 0 ]; then result="FAIL (exit $rc)"; failed=1
  elif [ "$rss_mib" -gt "$bound" ]; then result="FAIL (over bound)"; failed=1; fi
  printf '| %s: %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$desc" "$n" "$rss_mib" "$bound" "$wall" "$result" "$counters"
done <<<"$cases_table"
echo "logs: $work" >&2
exit $failed
