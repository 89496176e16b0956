#!/usr/bin/env python3
"""How fast the HTML report opens with 100,000 spans (issue 19: under 2 s;
docs/performance.md).

    scripts/bench-report.py [--build build] [--spans 100000] [--runs 3]

Generates a bpftrace stream (stream_gen, 2 events per span, half the spans
nested), records it with --exporter file, makes the page with
`bpftrace-otel report`, and opens it in Debian's headless chromium (a fresh tab
per run, driven over the DevTools protocol, tests/browser/cdp_pipe.py). Per run:
  ready ms    page's own clock from navigation start until the trace list is
              built (file read, HTML parsed, data inflated and parsed, first view)
  painted ms  the same clock at the second animation frame after that (on screen)
  wall ms     this script's clock from Page.navigate to seeing the page ready
              (polled every 20 ms)
  script      of "ready": from the page script's start to ready
  data        of "script": inflating and parsing the data
  click ms    opening the first listed trace's waterfall and one span's details
              (the details are parsed on this first click)
Builds nothing: build bpftrace-otel and stream_gen (Release) first."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "browser"))
from cdp_pipe import Browser  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--spans", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chromium", default="chromium")
    args = p.parse_args()
    binary = os.path.join(args.build, "bpftrace-otel")
    stream_gen = os.path.join(args.build, "bench", "stream_gen")
    load = open("/proc/loadavg").read().split()[:3]
    print("== report page, %d spans, load %s, %s" % (args.spans, " ".join(load),
                                                     time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    with tempfile.TemporaryDirectory(prefix="bto-bench-report-") as work:
        stream = os.path.join(work, "events.jsonl")
        subprocess.run([stream_gen, "--events", str(2 * args.spans), "--open", "256", "--nesting", "0.5", "-o",
                        stream], check=True, stderr=subprocess.DEVNULL)
        spans = os.path.join(work, "spans.jsonl")
        subprocess.run([binary, "--input", stream, "--span-timeout", "1h", "--exporter", "file", "--output", spans],
                       check=True, stderr=subprocess.DEVNULL)
        html = os.path.join(work, "traces.html")
        started = time.monotonic()
        made = subprocess.run([binary, "report", spans, "-o", html], check=True, stderr=subprocess.PIPE, text=True)
        report_s = time.monotonic() - started
        recorded = sum(len(ss["spans"]) for line in open(spans) for rs in json.loads(line)["resourceSpans"]
                       for ss in rs["scopeSpans"])
        print("recorded %d spans (%.1f MB OTLP/JSON); report command %.2f s, page %.1f MB" % (
            recorded, os.path.getsize(spans) / 1e6, report_s, os.path.getsize(html) / 1e6))
        print("  " + made.stderr.strip().splitlines()[-1])
        print("%-5s %8s %8s %10s %10s %8s %8s %8s %8s" % ("run", "traces", "spans", "ready ms", "painted ms", "wall ms",
                                                        "click ms", "script", "data"))
        with Browser(args.chromium) as browser:
            for run in range(1, args.runs + 1):
                t0 = time.monotonic()
                page = browser.open("file://" + html)
                page.wait_for("document.documentElement.dataset.ready === 'true'", timeout=60)
                wall_ms = (time.monotonic() - t0) * 1000
                page.wait_for("btoReport.paintedAt > 0")
                figures = page.eval("[btoReport.traces, btoReport.spans, btoReport.readyAt, btoReport.paintedAt, "
                                    "btoReport.parseMs, btoReport.renderMs]")
                # The first trace in the list opened with a click, then its first span.
                t1 = time.monotonic()
                page.click(".trace-row")
                page.wait_for("document.querySelector('#waterfall .span-row') !== null")
                page.click("#waterfall .span-row")
                page.wait_for("document.querySelector('#details h2') !== null")
                click_ms = (time.monotonic() - t1) * 1000
                print("%-5d %8d %8d %10.0f %10.0f %8.0f %8.0f %8.0f %8.0f" % (
                    run, figures[0], figures[1], figures[2], figures[3], wall_ms, click_ms, figures[5], figures[4]))
                page.call("Page.close")
    return 0


if __name__ == "__main__":
    sys.exit(main())
