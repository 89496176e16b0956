#!/usr/bin/env bash
# Records what each bpftrace version really prints, for the unit tests that
# must understand every version (tests/decode, tests/source) and for
# docs/compatibility.md. Run as root after scripts/bpftrace-versions.sh
# --prepare and a build (demo-server):
#
#   tests/data/bpftrace/record.sh [BUILD_DIR]
#
# Writes tests/data/bpftrace/<version>/<case>.out (stdout) and .err (stderr)
# for the host's bpftrace and each prepared root (Debian trixie, sid). Paths,
# PIDs and timestamps in the recordings are those of the recording run; the
# tests only rely on the message texts and line shapes.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
DEMO=$BUILD_DIR/examples/bin/demo-server
WRAPPERS=${BTO_WRAPPERS_DIR:-/var/cache/bpftrace-otel/bin}
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 2; }
[[ -x $DEMO ]] || { echo "build demo-server first ($DEMO)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/bto-record.XXXXXX)
chmod 755 "$WORK"
SERVER_PID=""
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
  return 0
}
trap cleanup EXIT

"$DEMO" --port 0 --port-file "$WORK/port" --quiet &
SERVER_PID=$!
for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
PORT=$(<"$WORK/port")

# The same script as examples/scripts/http.bt, readable by uid 65534.
cp "$ROOT/examples/scripts/http.bt" "$WORK/http.bt"
chmod 644 "$WORK/http.bt"

# Output shapes: tuples, printf, strings (non-ASCII, 100 bytes), u64 >= 2^63,
# negative numbers, and (0.25+) a record.
SHAPES='BEGIN {
  print(("shape_tuple", "request_id", 42, "big", (uint64)0xffffffff00000001, "neg", -5, "word", "café"));
  printf("{\"event\":\"shape_printf\",\"request_id\":%llu,\"word\":\"%s\"}\n", (uint64)0xffffffff00000001, "café");
  exit();
}'
RECORD='BEGIN { print((event="shape_record", request_id=(uint64)0xffffffff00000001, word="a\"b")); exit(); }'

# run VERSION_DIR CASE [setpriv args --] bpftrace args...: records one case
# (bpftrace is found on PATH, the wrapper directory first).
run() {
  local dir=$1 name=$2
  shift 2
  timeout -s INT 20 "$@" >"$dir/$name.out" 2>"$dir/$name.err" </dev/null || true
}

# Drives requests at the demo server while a case runs (for the tuple shapes of http.bt).
load() { sleep 5; for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/users/$i" || true; done; }

record_version() {
  local path_dir=$1 version dir
  version=$(PATH=$path_dir:$PATH bpftrace --version | awk '{print $2}' | tr -d v)
  dir=$HERE/$version
  mkdir -p "$dir"
  echo "recording bpftrace $version into $dir" >&2
  export PATH=$path_dir:$PATH
  local bt
  bt=$(command -v bpftrace)
  local caps4="-all,+bpf,+perfmon,+sys_admin,+sys_ptrace"
  local nonroot=(setpriv --reuid 65534 --regid 65534 --clear-groups)

  run "$dir" version "$bt" --version
  run "$dir" shapes "$bt" -f json -e "$SHAPES"
  run "$dir" record "$bt" -f json -e "$RECORD"
  (load &) ; run "$dir" http_pid timeout -s INT 8 "$bt" -f json -B line -p "$SERVER_PID" "$WORK/http.bt"
  (load &) ; run "$dir" http_pid_binary timeout -s INT 8 "$bt" -f json -B line -p "$SERVER_PID" "$WORK/http.bt" "$DEMO"
  run "$dir" syntax_error "$bt" -f json -e 'BEGIN { printf("unterminated" }'
  run "$dir" usdt_missing_probe_arg0 "$bt" -f json -p "$SERVER_PID" -e \
    "usdt:$DEMO:demo:no_such_probe { print((\"x_start\", \"request_id\", arg0)); }"
  run "$dir" usdt_missing_probe "$bt" -f json -p "$SERVER_PID" -e "usdt:$DEMO:demo:no_such_probe { @n = count(); }"
  run "$dir" uprobe_missing_function "$bt" -f json -e "uprobe:$DEMO:no_such_function { @n = count(); }"
  run "$dir" uprobe_missing_library "$bt" -f json -e 'uprobe:/nonexistent/libx.so:f { @n = count(); }'
  run "$dir" tracepoint_missing "$bt" -f json -e 'tracepoint:syscalls:sys_enter_no_such_call { @n = count(); }'
  run "$dir" tracefs_missing unshare -m sh -c \
    'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; exec "$0" "$@"' \
    "$bt" -f json -e 'tracepoint:syscalls:sys_enter_openat { @n = count(); }'
  run "$dir" no_such_pid "$bt" -f json -p 4000000 "$WORK/http.bt"
  run "$dir" command_not_found "$bt" -f json -c /nonexistent/command -e 'BEGIN { exit(); }'
  run "$dir" script_not_found "$bt" -f json /nonexistent/script.bt
  (load &) ; run "$dir" caps_no_sys_admin setpriv --bounding-set -all,+bpf,+perfmon,+sys_ptrace --inh-caps -all -- \
    timeout -s INT 8 "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  run "$dir" caps_no_sys_ptrace setpriv --bounding-set -all,+bpf,+perfmon,+sys_admin --inh-caps -all -- \
    "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  run "$dir" caps_no_perfmon_no_sys_admin setpriv --bounding-set -all,+bpf,+sys_ptrace --inh-caps -all -- \
    "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  run "$dir" caps_no_bpf_no_sys_admin setpriv --bounding-set -all,+perfmon,+sys_ptrace --inh-caps -all -- \
    "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  run "$dir" caps_non_root_four "${nonroot[@]}" --inh-caps "$caps4" --ambient-caps "$caps4" --bounding-set "$caps4" -- \
    "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  local caps5="$caps4,+dac_read_search"
  run "$dir" caps_non_root_five "${nonroot[@]}" --inh-caps "$caps5" --ambient-caps "$caps5" --bounding-set "$caps5" -- \
    timeout -s INT 5 "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  # 0.25+: what bpftrace's own check asks of a non-root user (plus ptrace for another process).
  local caps6="$caps5,+dac_override"
  (load &) ; run "$dir" caps_non_root_six "${nonroot[@]}" --inh-caps "$caps6" --ambient-caps "$caps6" --bounding-set "$caps6" -- \
    timeout -s INT 8 "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  run "$dir" caps_non_root_none "${nonroot[@]}" --inh-caps -all --bounding-set -all -- \
    "$bt" -f json -p "$SERVER_PID" "$WORK/http.bt"
  # Absolute paths of this run would only add noise to diffs.
  sed -i "s|$WORK/|/tmp/record/|g; s|$BUILD_DIR/|BUILD/|g" "$dir"/*.out "$dir"/*.err
}

ORIG_PATH=$PATH
record_version ""
for suite in trixie sid; do
  PATH=$ORIG_PATH
  if [[ -x $WRAPPERS/$suite/bpftrace ]]; then record_version "$WRAPPERS/$suite"; fi
done
