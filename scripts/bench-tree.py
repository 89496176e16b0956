#!/usr/bin/env python3
"""Memory of the console's tree view under a 1M-span replay (docs/performance.md).

    scripts/bench-tree.py [--build build] [--spans 1000000]

Four replays of generated bpftrace streams, output to /dev/null, each reporting
peak RSS (getrusage of the child), the tree view's own peak of held bytes, wall
and CPU time, and spans the export queue dropped (a replay reads as fast as it
can; spans the exporter cannot keep up with are dropped and counted):
  text       --console-format text: the baseline without the tree view
  tree       --console-format tree, realistic traces (stream_gen, 50% nested):
             each trace printed as soon as its root ends
  held       --console-format tree, hostile: 1,000 roots that never end, each
             with 1,000 children that do; every child is held until a bound
             (--tree-max-spans, --tree-max-bytes) prints its trace early
  held-small the same with --tree-max-bytes 8MiB: the bound, not the input,
             decides the memory
Builds nothing: build bpftrace-otel and stream_gen (Release) first."""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def hostile_stream(path, roots, children):
    """Roots that start and never end; children (with parent_id) that end."""
    with open(path, "w") as out:
        t = 1_000_000_000
        for r in range(roots):
            out.write('{"type":"value","data":["request_start","request_id",%d,"name","root-%d","timestamp",%d]}\n'
                      % (r + 1, r, t))
        for c in range(children):
            parent = c % roots + 1
            rid = 10_000_000 + c
            t += 1000
            out.write('{"type":"value","data":["job_start","request_id",%d,"parent_id",%d,"name","child %d",'
                      '"timestamp",%d]}\n{"type":"value","data":["job_end","request_id",%d,"timestamp",%d]}\n'
                      % (rid, parent, c, t, rid, t + 500))


def run(binary, stream, extra, work):
    """One replay; the child's own rusage (os.wait4), not the maximum over all children."""
    start = time.monotonic()
    err_path = os.path.join(work, "stderr")
    with open(os.devnull, "w") as null, open(err_path, "w") as err_file:
        p = subprocess.Popen([binary, "--input", stream, "--span-timeout", "1h"] + extra, stdout=null, stderr=err_file)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = status
    wall = time.monotonic() - start
    err = open(err_path).read()
    summary = next((line for line in err.splitlines() if "summary:" in line), "")

    def value(key):
        at = summary.find(" " + key + "=")
        return int(summary[at + len(key) + 2:].split()[0].rstrip(")")) if at >= 0 else 0
    return {"status": os.waitstatus_to_exitcode(status), "rss_mib": usage.ru_maxrss / 1024, "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime, "exported": value("exported"), "printed": value("spans_printed"),
            "early": value("early"), "peak_held": value("peak_held_bytes"), "dropped": value("dropped")}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--spans", type=int, default=1_000_000)
    args = p.parse_args()
    binary = os.path.join(args.build, "bpftrace-otel")
    stream_gen = os.path.join(args.build, "bench", "stream_gen")
    load = open("/proc/loadavg").read().split()[:3]
    print("== tree view memory, %d spans, load %s, %s" % (args.spans, " ".join(load),
                                                            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    with tempfile.TemporaryDirectory(prefix="bto-bench-tree-") as work:
        realistic = os.path.join(work, "realistic.jsonl")
        subprocess.run([stream_gen, "--events", str(2 * args.spans), "--open", "256", "--nesting", "0.5", "-o",
                        realistic], check=True, stderr=subprocess.DEVNULL)
        hostile = os.path.join(work, "hostile.jsonl")
        hostile_stream(hostile, 1000, args.spans)
        cases = [
            ("text", realistic, ["--console-format", "text"]),
            ("tree", realistic, ["--console-format", "tree"]),
            ("held", hostile, ["--console-format", "tree", "--tree-max-hold", "1h"]),
            ("held-small", hostile, ["--console-format", "tree", "--tree-max-hold", "1h", "--tree-max-bytes", "8MiB"]),
        ]
        print("%-11s %10s %9s %14s %10s %9s %8s %8s %10s" % ("case", "exported", "dropped", "peak RSS MiB",
                                                                 "held MiB", "early", "wall s", "cpu s", "printed"))
        for name, stream, extra in cases:
            r = run(binary, stream, extra, work)
            if r["status"] != 0:
                print("%s: exit status %s" % (name, r["status"]), file=sys.stderr)
                return 1
            print("%-11s %10d %9d %14.1f %10.1f %9d %8.1f %8.1f %10d" % (
                name, r["exported"], r["dropped"], r["rss_mib"], r["peak_held"] / 1048576, r["early"], r["wall"],
                r["cpu"], r["printed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
