#!/usr/bin/env bash
# The README's demo: installs what is needed, builds, starts the demo HTTP
# server (real USDT probes), traces it with bpftrace through bpftrace-otel,
# drives some load and shows the spans in the console view. No collector needed.
#
#   scripts/demo.sh              live demo (root: bpftrace needs it)
#   scripts/demo.sh --replay     replay the recorded stream in tests/data instead
#   DEMO_REQUESTS=100 scripts/demo.sh
#   DEMO_SCRIPT=examples/scripts/all.bt scripts/demo.sh   start/end events (and the caller's traceparent)
#   OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 scripts/demo.sh   send to a collector
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
REQUESTS=${DEMO_REQUESTS:-24}

scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target bpftrace-otel demo-server demo-loadgen

if [[ ${1:-} == --replay ]]; then
  exec "$BUILD_DIR/bpftrace-otel" --input tests/data/recorded-demo.jsonl
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: bpftrace needs root; run: sudo $0   (or: $0 --replay)" >&2
  exit 1
fi
if [[ ! -d /sys/kernel/tracing/events && ! -d /sys/kernel/debug/tracing/events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing ||
    { echo "demo.sh: tracefs is not mounted and cannot be (bpftrace needs it)" >&2; exit 1; }
fi

workdir=$(mktemp -d)
server_pid="" exporter_pid=""
cleanup() {
  [[ -n $exporter_pid ]] && kill -TERM "$exporter_pid" 2>/dev/null && wait "$exporter_pid" 2>/dev/null
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

server_bin="$BUILD_DIR/examples/bin/demo-server"
"$server_bin" --port 0 --port-file "$workdir/port" --quiet &
server_pid=$!
for _ in $(seq 100); do [[ -s $workdir/port ]] && break; sleep 0.05; done
[[ -s $workdir/port ]] || { echo "demo.sh: demo-server did not start listening within 5 s" >&2; exit 1; }
port=$(cat "$workdir/port")
echo "== demo-server pid $server_pid listening on 127.0.0.1:$port"

# The script's probes name the binary as $1 (after --); --pid restricts them to this process.
# paired/all.bt pairs each operation in the kernel and prints it once (about half of
# bpftrace's events; docs/performance.md); DEMO_SCRIPT=examples/scripts/all.bt prints
# start and end events and continues the load generator's traceparent.
OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-demo-server} \
  "$BUILD_DIR/bpftrace-otel" --script "${DEMO_SCRIPT:-examples/scripts/paired/all.bt}" --pid "$server_pid" \
  -- "$(realpath "$server_bin")" 2> >(tee "$workdir/exporter.log" >&2) &
exporter_pid=$!
attached=0
for _ in $(seq 300); do
  if grep -q "attached its probes" "$workdir/exporter.log" 2>/dev/null; then attached=1; break; fi
  if ! kill -0 "$exporter_pid" 2>/dev/null; then
    exporter_pid=""
    echo "demo.sh: bpftrace-otel exited before bpftrace attached its probes (its log is above)" >&2
    exit 1
  fi
  sleep 0.1
done
if ((!attached)); then
  echo "demo.sh: bpftrace did not attach its probes within 30 s (its log is above)" >&2
  exit 1
fi
sleep 1  # bpftrace reports attached_probes before the last probe is armed

echo "== $REQUESTS requests: users, orders (dial + TLS + job), error, items"
"$BUILD_DIR/examples/bin/demo-loadgen" --port "$port" --requests "$REQUESTS" --concurrency 2 \
  --mix users,orders,error,items --traceparent >"$workdir/load.json"
sleep 1
kill -TERM "$exporter_pid"
wait "$exporter_pid" || true
exporter_pid=""
echo "== load generator: $(cat "$workdir/load.json")"
