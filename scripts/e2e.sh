#!/usr/bin/env bash
# Live end-to-end check a user runs by hand, as root (the seed's test-unified.sh):
# builds what is missing, starts the demo server, the test OTLP receiver (which
# decodes with the official OTLP schema) and bpftrace-otel, drives a known load,
# then prints PASS/FAIL per check with the figures. Everything it started is
# stopped on exit, also on Ctrl-C or a failure.
#
#   sudo scripts/e2e.sh                 # 120 requests
#   sudo REQUESTS=600 BUILD_DIR=build-x scripts/e2e.sh
#   KEEP=1 ...                          # keep the logs (path printed at the end)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
REQUESTS=${REQUESTS:-120}
PYTHON=/usr/bin/python3   # the one with python3-protobuf (not a pyenv shim)

die() { echo "e2e: $*" >&2; exit 2; }

[[ $(id -u) -eq 0 ]] || die "run as root: bpftrace attaches kernel probes"
command -v bpftrace >/dev/null || die "bpftrace is not installed (apt-get install bpftrace)"
[[ -x $PYTHON ]] || die "$PYTHON is missing (apt-get install python3 python3-protobuf)"
if [[ ! $REQUESTS =~ ^[0-9]+$ ]] || (( REQUESTS < 8 )); then die "REQUESTS must be a number >= 8"; fi
if [[ ! -d /sys/kernel/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing || die "tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing"
fi

# ---- build what is missing
if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR" --target bpftrace-otel demo-server demo-loadgen otlp_protos
EXPORTER=$BUILD_DIR/bpftrace-otel
[[ -x $EXPORTER ]] || EXPORTER=$(find "$BUILD_DIR" -type f -name bpftrace-otel -perm -u+x | head -n 1)
SERVER=$BUILD_DIR/examples/bin/demo-server
LOADGEN=$BUILD_DIR/examples/bin/demo-loadgen
SCRIPT=$ROOT/examples/scripts/all.bt
for f in "$EXPORTER" "$SERVER" "$LOADGEN"; do [[ -x $f ]] || die "not built: $f"; done

# ---- processes, cleaned up whatever happens
WORK=$(mktemp -d /tmp/bto-e2e.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n ${KEEP:-} ]]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for SECONDS FILE TEXT
  local deadline=$((SECONDS + $1))
  until grep -qF -- "$3" "$2" 2>/dev/null; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

"$PYTHON" "$ROOT/tests/receiver/otlp_receiver.py" --protos "$BUILD_DIR/otlp-protos" --port 0 \
  >"$WORK/receiver.out" 2>"$WORK/receiver.err" &
PIDS+=("$!")
"$SERVER" --port 0 --port-file "$WORK/server.port" --quiet 2>"$WORK/server.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
for _ in $(seq 100); do [[ -s $WORK/server.port && -s $WORK/receiver.out ]] && break; sleep 0.1; done
[[ -s $WORK/server.port ]] || die "demo-server did not start: $(cat "$WORK/server.err")"
[[ -s $WORK/receiver.out ]] || die "receiver did not start: $(cat "$WORK/receiver.err")"
SERVER_PORT=$(<"$WORK/server.port")
RECEIVER_PORT=$(head -n 1 "$WORK/receiver.out")
echo "demo-server pid $SERVER_PID port $SERVER_PORT, receiver port $RECEIVER_PORT, logs in $WORK"

"$EXPORTER" --script "$SCRIPT" --pid "$SERVER_PID" \
  --endpoint "http://127.0.0.1:$RECEIVER_PORT/v1/traces" --service-name e2e-demo \
  --schedule-delay 100ms -- "$SERVER" >"$WORK/exporter.out" 2>"$WORK/exporter.err" &
EXPORTER_PID=$!
PIDS+=("$EXPORTER_PID")
wait_for 60 "$WORK/exporter.err" "bpftrace attached its probes" ||
  die "bpftrace did not attach: $(tail -n 20 "$WORK/exporter.err")"
sleep 1   # attached_probes is printed when attaching starts (docs/demo.md)

# ---- load: a deterministic mix (request i always gets the same route)
"$LOADGEN" --port "$SERVER_PORT" --requests "$REQUESTS" --concurrency 4 --traceparent \
  --mix users:2,orders,slow,error,items:2,notfound --record "$WORK/requests.jsonl" \
  >"$WORK/loadgen.json" 2>"$WORK/loadgen.err" || true
echo "load: $(<"$WORK/loadgen.json")"

# Give the last spans time to reach the receiver, then stop gracefully.
sleep 1.5
kill -TERM "$EXPORTER_PID"
EXPORTER_STATUS=0
for _ in $(seq 150); do kill -0 "$EXPORTER_PID" 2>/dev/null || break; sleep 0.1; done
wait "$EXPORTER_PID" || EXPORTER_STATUS=$?
curl -fsS "http://127.0.0.1:$RECEIVER_PORT/received" >"$WORK/received.json"
SUMMARY=$(grep -F "summary:" "$WORK/exporter.err" | tail -n 1 || true)

# ---- checks (fixed program text; data passed as arguments)
"$PYTHON" - "$WORK/requests.jsonl" "$WORK/received.json" "$EXPORTER_STATUS" "$SUMMARY" \
  "$SERVER_PID" <<'PY'
import collections, json, re, sys

records_path, received_path, exporter_status, summary, server_pid = sys.argv[1:6]
records = [json.loads(line) for line in open(records_path) if line.strip()]
received = json.load(open(received_path))
spans = received["spans"]
figures = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", summary)}
attrs = lambda s: {a["key"]: a["value"] for a in s["attributes"]}
failures = 0

def check(ok, what, detail=""):
    global failures
    failures += 0 if ok else 1
    print("%s  %s%s" % ("PASS" if ok else "FAIL", what, (": " + detail) if detail else ""))

by_name = collections.Counter(s["name"] if not s["name"].startswith("HTTP ") else "HTTP" for s in spans)
http = [s for s in spans if s["name"].startswith("HTTP ")]
orders = {s["span_id"]: s for s in http if s["name"] == "HTTP POST /api/orders"}
n_orders = sum(1 for r in records if r["route"] == "orders")
answered = sum(1 for r in records if r["status"] != 0)
print("requests sent %d (answered %d, orders %d); spans received %d: %s"
      % (len(records), answered, n_orders, len(spans),
         ", ".join("%s %d" % kv for kv in sorted(by_name.items()))))

check(answered == len(records), "every request answered", "%d of %d" % (answered, len(records)))
check(len(http) == len(records), "one HTTP span per request", "%d spans, %d requests" % (len(http), len(records)))
want = collections.Counter((r["method"], r["uri"], str(r["status"])) for r in records)
got = collections.Counter((attrs(s).get("http.method"), attrs(s).get("http.url"),
                           attrs(s).get("http.status_code")) for s in http)
check(want == got, "HTTP method/url/status match the requests",
      "" if want == got else "missing %s, extra %s" % (dict(want - got), dict(got - want)))
# http_request_end fires after the server's write(2): the client may read the
# response and stop its clock before the server thread reaches the probe, so a
# span can outlast the client's latency by a scheduling delay (tests/e2e: 5 ms slack).
SLACK_NS = 5_000_000
latency = {r["traceparent"]: r["latency_ns"] for r in records}
excess = [int(s["end"]) - int(s["start"]) - latency.get(attrs(s).get("traceparent"), 0) for s in http]
check(bool(excess) and max(excess) <= SLACK_NS, "HTTP span durations within the client-measured latency (+5 ms)",
      "%d of %d longer than the latency, by at most %d us"
      % (sum(1 for e in excess if e > 0), len(excess), max(excess + [0]) // 1000))
errors_ok = all((s["status_code"] == 2) == (int(attrs(s).get("http.status_code", 0)) >= 500) for s in http)
check(errors_ok, "error status exactly on the 5xx spans")
tls = [s for s in spans if s["name"] == "TLS Handshake"]
dial = [s for s in spans if s["name"] == "net.Dial"]
job = [s for s in spans if s["name"] == "Request"]
check(len(tls) == n_orders and all(attrs(s).get("tls.server_name") == "payments.local" for s in tls),
      "TLS spans, server name payments.local", "%d of %d" % (len(tls), n_orders))
check(len(dial) == n_orders and all(attrs(s).get("net.peer.name") == "127.0.0.1" for s in dial),
      "net.Dial spans to 127.0.0.1", "%d of %d" % (len(dial), n_orders))
check(len(job) == n_orders, "Request (job) spans", "%d of %d" % (len(job), n_orders))
linked = all(s["parent_span_id"] in orders and orders[s["parent_span_id"]]["trace_id"] == s["trace_id"]
             for s in tls + dial + job)
check(linked, "TLS/dial/job spans nested under their POST /api/orders span")
pids = {a["value"] for s in spans for a in s["resource"] if a["key"] == "process.pid"}
check(pids == {server_pid}, "resource process.pid is the server's", str(sorted(pids)))
check(exporter_status == "0", "bpftrace-otel exited 0 after SIGTERM", "status " + exporter_status)
check(bool(figures) and figures.get("exported") == len(spans) and received["duplicates"] == 0,
      "received == exported, no duplicates",
      "exported %s, received %d, duplicates %d" % (figures.get("exported"), len(spans), received["duplicates"]))
check(figures.get("dropped") == 0, "no span dropped", "dropped %s" % figures.get("dropped"))
check(figures.get("bpftrace_lost_events") == 0, "bpftrace lost no events",
      "lost_events %s" % figures.get("bpftrace_lost_events"))
check(not received["errors"], "receiver decoded every request with the official schema",
      "; ".join(received["errors"][:3]))
print("RESULT: %s" % ("PASS" if failures == 0 else "FAIL (%d checks)" % failures))
sys.exit(1 if failures else 0)
PY
