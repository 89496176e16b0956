#!/usr/bin/env bash
# bpftrace's own CPU per request on the demo server, by what the script prints:
# the same load as scripts/bench-live.sh, bpftrace alone writing its JSON to a
# file (BTO_LIVE_ALONE_ONLY=1), once per script, in alternating rounds. Prints
# one line per run: events and wake-ups (voluntary context switches) per
# request, CPU per request and per event. Shows how much of bpftrace's cost is
# per wake-up rather than per printed byte (docs/performance.md, "bpftrace's floor").
#
#   sudo scripts/bench-bpftrace-floor.sh [BUILD_DIR] [REQUESTS] [ROUNDS]
#
# The bpftrace on PATH is measured (e.g. PATH=/var/cache/bpftrace-otel/bin/sid:$PATH).
set -euo pipefail
BUILD_DIR=$(realpath "${1:-build}")
REQUESTS=${2:-60000}
ROUNDS=${3:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCRIPTS=(bench/bpftrace/quiet.bt bench/bpftrace/one-narrow.bt bench/bpftrace/two-narrow.bt
         bench/bpftrace/one-strings.bt examples/scripts/paired/all.bt examples/scripts/all.bt)
echo "bpftrace $(bpftrace --version | awk '{print $2}'), $REQUESTS requests, 2 connections, $ROUNDS round(s)"
printf '%-32s %12s %14s %12s %10s\n' script events/req wake-ups/req us/request us/event
for round in $(seq "$ROUNDS"); do
  for script in "${SCRIPTS[@]}"; do
    out=$(cd "$ROOT" && BTO_LIVE_ALONE_ONLY=1 BTO_LIVE_SCRIPT="$script" scripts/bench-live.sh "$BUILD_DIR" "$REQUESTS" 2)
    awk -v name="$script" -v req="$REQUESTS" '
      /^baseline/ { sub(/.*events=/, ""); events = $1 + 0 }
      /bpftrace +CPU/ { for (i = 1; i <= NF; i++) if ($i ~ /^us\/request/) usreq = $(i - 1) }
      /wake-ups/ { for (i = 1; i <= NF; i++) if ($i == "per" && $(i + 1) == "request,") wreq = $(i - 1) }
      END { per_event = events > 0 ? sprintf("%.2f", usreq * req / events) : "-"
            printf "%-32s %12.2f %14s %12.2f %10s\n", name, events / req, wreq, usreq, per_event }' <<<"$out"
  done
done
