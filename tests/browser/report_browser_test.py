#!/usr/bin/env python3
"""The HTML report in a real browser (Debian's chromium, headless, driven over
the DevTools protocol): made from the recorded demo through `--exporter file`
and through the JSON console view, it must list every trace, nest the known
trace's spans parent-first in start order, show a clicked span's details,
filter, and show hostile names as text. Expected values come from the OTLP
file itself (parsed here), not from the page.

    report_browser_test.py --exporter BIN --source DIR --workdir DIR [--screenshot PNG]

Exit 77 (ctest: skipped) when chromium is not installed."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp_pipe import Browser  # noqa: E402

KNOWN_TRACE = "82a843f81f59029615e5a1defa876f9f"  # the recorded demo's POST /api/orders with dial, TLS, job
FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAIL: " + message, file=sys.stderr)


def run(argv, stdout=None):
    subprocess.run(argv, check=True, stdout=stdout, stderr=subprocess.DEVNULL, timeout=120)


def load_otlp(path):
    """Spans of an OTLP/JSON lines file, as plain dicts."""
    spans = []
    for line in open(path, encoding="utf-8"):
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    spans.append(s)
    return spans


def tree_order(spans):
    """Parent first, children by start time: (name, depth, span id) per span."""
    ids = {s["spanId"] for s in spans}
    children = {}
    tops = []
    for s in spans:
        parent = s.get("parentSpanId", "")
        (children.setdefault(parent, []) if parent in ids else tops).append(s)
    start = lambda s: int(s["startTimeUnixNano"])  # noqa: E731
    out = []

    def visit(s, depth):
        out.append((s["name"], depth, s["spanId"]))
        for c in sorted(children.get(s["spanId"], []), key=start):
            visit(c, depth + 1)

    for s in sorted(tops, key=start):
        visit(s, 0)
    return out


def every_listed_trace(page):
    """Scrolls the virtual trace list from top to bottom, collecting ids."""
    return page.eval("""(() => {
      const list = document.getElementById('trace-list');
      const seen = new Set();
      for (let top = 0; ; top += list.clientHeight / 2) {
        list.scrollTop = top;
        list.dispatchEvent(new Event('scroll'));
        for (const row of list.querySelectorAll('.trace-row')) seen.add(row.dataset.trace);
        if (top > list.scrollHeight) break;
      }
      list.scrollTop = 0;
      list.dispatchEvent(new Event('scroll'));
      return Array.from(seen);
    })()""")


def set_filter(page, element_id, value):
    page.eval("(() => { const e = document.getElementById(%s); e.value = %s;"
              " e.dispatchEvent(new Event('input')); })()" % (json.dumps(element_id), json.dumps(value)))


def waterfall(page):
    return page.eval("""Array.from(document.querySelectorAll('#waterfall .span-row'))
      .sort((a, b) => a.dataset.index - b.dataset.index)
      .map(r => [r.querySelector('.span-name').textContent, Number(r.dataset.depth), r.dataset.span])""")


def details(page):
    return page.eval("""(() => {
      const out = {title: document.querySelector('#details h2').textContent};
      for (const tr of document.querySelectorAll('#details tr')) out[tr.cells[0].textContent] = tr.cells[1].textContent;
      return out; })()""")


def check_page(browser, html, label, expected_spans, screenshot=None):
    traces = {s["traceId"] for s in expected_spans}
    page = browser.open("file://" + html)
    page.wait_for("document.documentElement.dataset.ready === 'true'")
    timing = page.eval("[btoReport.parseMs, btoReport.renderMs]")
    print("%s: parse %.1f ms, ready %.1f ms after the script started" % (label, timing[0], timing[1]))
    check(page.eval("btoReport.traces") == len(traces), "%s: %s traces in the page, %d in the file" %
          (label, page.eval("btoReport.traces"), len(traces)))
    check(page.eval("document.getElementById('trace-count').textContent").startswith("%d traces" % len(traces)),
          label + ": trace count line")
    listed = every_listed_trace(page)
    check(sorted(listed) == sorted(traces), "%s: %d traces listed, %d expected" % (label, len(listed), len(traces)))

    # The known trace, picked in the list with a mouse click after filtering by its id.
    set_filter(page, "filter-name", KNOWN_TRACE)
    page.wait_for("btoReport.shown() === 1")
    page.click('.trace-row[data-trace="%s"]' % KNOWN_TRACE)
    page.wait_for("document.querySelector('#trace-head .trace-id') && "
                  "document.querySelector('#trace-head .trace-id').textContent === %s" % json.dumps(KNOWN_TRACE))
    known = [s for s in expected_spans if s["traceId"] == KNOWN_TRACE]
    expected_order = tree_order(known)
    shown = [tuple(row) for row in waterfall(page)]
    check(shown == [tuple(row) for row in expected_order],
          "%s: waterfall order %s, expected %s" % (label, shown, expected_order))
    check([(n, d) for n, d, _ in shown] ==
          [("HTTP POST /api/orders", 0), ("net.Dial", 1), ("TLS Handshake", 1), ("Request", 1)],
          "%s: the known trace's tree: %s" % (label, shown))

    # Details of one span, after a real click on its row.
    tls = next(s for s in known if s["name"] == "TLS Handshake")
    page.click('#waterfall .span-row[data-span="%s"]' % tls["spanId"])
    page.wait_for("document.querySelector('#details h2') && "
                  "document.querySelector('#details h2').textContent === 'TLS Handshake'")
    shown_details = details(page)
    attributes = {a["key"]: a["value"] for a in tls.get("attributes", [])}
    duration_ms = (int(tls["endTimeUnixNano"]) - int(tls["startTimeUnixNano"])) / 1e6
    check(shown_details.get("span id") == tls["spanId"], label + ": span id in details")
    check(shown_details.get("parent span id") == tls["parentSpanId"], label + ": parent id in details")
    check(shown_details.get("kind") == "client", label + ": kind in details")
    check(shown_details.get("duration") == "%.2fms" % duration_ms,
          "%s: duration %s, expected %.2fms" % (label, shown_details.get("duration"), duration_ms))
    check(shown_details.get("tls.server_name") == attributes["tls.server_name"]["stringValue"],
          label + ": tls.server_name in details")
    check(shown_details.get("tls.version") == attributes["tls.version"]["stringValue"], label + ": tls.version")
    check(shown_details.get("thread.id") == attributes["thread.id"]["intValue"], label + ": thread.id")
    check(page.eval("location.hash") == "#trace=%s&span=%s" % (KNOWN_TRACE, tls["spanId"]), label + ": hash link")
    if screenshot:
        page.call("Emulation.setDeviceMetricsOverride", {"width": 1100, "height": 560, "deviceScaleFactor": 1,
                                                         "mobile": False})
        set_filter(page, "filter-name", "")
        page.wait_for("btoReport.shown() === %d" % len(traces))
        page.eval("document.getElementById('trace-list').scrollTop = 0")
        time.sleep(0.3)
        page.screenshot(screenshot)

    # Filters: errors only, then a minimum duration, against the file's numbers.
    set_filter(page, "filter-name", "")
    set_filter(page, "filter-status", "error")
    errors = {s["traceId"] for s in expected_spans if s.get("status", {}).get("code") == 2}
    check(page.eval("btoReport.shown()") == len(errors), "%s: %s traces with errors shown, %d expected" %
          (label, page.eval("btoReport.shown()"), len(errors)))
    set_filter(page, "filter-status", "all")
    set_filter(page, "filter-duration", "10")
    bounds = {}
    for s in expected_spans:
        lo, hi = bounds.get(s["traceId"], (1 << 64, 0))
        bounds[s["traceId"]] = (min(lo, int(s["startTimeUnixNano"])), max(hi, int(s["endTimeUnixNano"])))
    slow = [t for t, (lo, hi) in bounds.items() if hi - lo >= 10_000_000]
    check(page.eval("btoReport.shown()") == len(slow), "%s: %s traces >= 10 ms shown, %d expected" %
          (label, page.eval("btoReport.shown()"), len(slow)))


def console_json_to_otlp_like(path):
    """The JSON console view's spans in the OTLP dict shape used above."""
    spans = []
    for line in open(path, encoding="utf-8"):
        s = json.loads(line)
        attributes = []
        for key, value in s["attributes"].items():
            kind = "intValue" if isinstance(value, int) and not isinstance(value, bool) else "stringValue"
            attributes.append({"key": key, "value": {kind: str(value)}})
        spans.append({"traceId": s["trace_id"], "spanId": s["span_id"], "parentSpanId": s["parent_span_id"],
                      "name": s["name"], "startTimeUnixNano": str(s["start_time_unix_nano"]),
                      "endTimeUnixNano": str(s["end_time_unix_nano"]), "attributes": attributes,
                      "status": {"code": {"error": 2, "ok": 1}.get(s["status"]["code"], 0)}})
    return spans


def hostile_page(browser, exporter, workdir):
    """Names and values that try to break out of the page stay text."""
    evil = "</script><script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">&lt;"
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": evil, "kind": 2,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000001000000",
            "attributes": [{"key": evil, "value": {"stringValue": evil}}], "status": {"code": 2, "message": evil}}
    line = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": evil}}]},
                               "scopeSpans": [{"scope": {"name": "x"}, "spans": [span]}]}]}
    source = os.path.join(workdir, "hostile.jsonl")
    with open(source, "w") as f:
        f.write(json.dumps(line) + "\n")
    html = os.path.join(workdir, "hostile.html")
    run([exporter, "report", source, "-o", html, "--title", evil])
    page = browser.open("file://" + html)
    page.wait_for("document.documentElement.dataset.ready === 'true'")
    page.click('.trace-row[data-trace="%s"]' % ("ab" * 16))
    page.wait_for("document.querySelector('#details h2') !== null")
    check(page.eval("window.pwned === undefined"), "hostile: script from the data ran")
    check(page.eval("document.querySelector('#details h2').textContent") == evil, "hostile: name not shown as text")
    check(page.eval("document.title") == evil, "hostile: title not shown as text")
    check(page.eval("document.querySelectorAll('img').length") == 0, "hostile: markup from the data became elements")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exporter", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--chromium", default="chromium")
    p.add_argument("--screenshot")
    args = p.parse_args()
    if shutil.which(args.chromium) is None:
        print("chromium is not installed (scripts/install-deps.sh installs it): skipped")
        return 77
    os.makedirs(args.workdir, exist_ok=True)
    demo = os.path.join(args.source, "tests/data/recorded-demo.jsonl")
    spans_file = os.path.join(args.workdir, "spans.jsonl")
    if os.path.exists(spans_file):
        os.unlink(spans_file)
    run([args.exporter, "--input", demo, "--exporter", "file", "--output", spans_file, "--service-name", "demo-server"])
    view_file = os.path.join(args.workdir, "view.jsonl")
    with open(view_file, "w") as out:
        run([args.exporter, "--input", demo, "--console-format", "json", "--service-name", "demo-server"], stdout=out)
    otlp_html = os.path.join(args.workdir, "from-otlp.html")
    view_html = os.path.join(args.workdir, "from-json-view.html")
    run([args.exporter, "report", spans_file, "-o", otlp_html])
    run([args.exporter, "report", view_file, "-o", view_html])

    started = time.monotonic()
    with Browser(args.chromium) as browser:
        check_page(browser, otlp_html, "OTLP file", load_otlp(spans_file), args.screenshot)
        check_page(browser, view_html, "JSON view", console_json_to_otlp_like(view_file))
        hostile_page(browser, args.exporter, args.workdir)
    print("browser checks: %.1f s" % (time.monotonic() - started))
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES), file=sys.stderr)
        return 1
    print("all browser checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
