#!/usr/bin/python3
"""Adversarial bpftrace -f json streams on stdout, for scripts/adversarial.sh.
Usage: adversarial_gen.py <case> <count>. Deterministic (no randomness)."""

import sys

out = sys.stdout.buffer
W = out.write


def tuple_line(name, *pairs):
    parts = ['"%s"' % name]
    for k, v in pairs:
        parts.append('"%s"' % k)
        parts.append(v if isinstance(v, str) and v[:1] in '"[{' else str(v))
    return ('{"type":"value","data":[%s]}\n' % ",".join(parts)).encode()


def open_ids(n):
    # Starts that never end: only max_open_spans may stay open.
    for i in range(n):
        W(b'{"type":"value","data":["req_start","request_id",%d,"timestamp",%d]}\n' % (i + 1, 1_000_000 + i))


def huge_values(n):
    value = b"v" * (1 << 20)  # 1 MiB per value
    for i in range(n):
        W(b'{"type":"value","data":["big_start","request_id",%d,"payload","%s"]}\n' % (i + 1, value))


def near_limit(n):
    # Lines just under the default max_line_bytes (1 MiB).
    pad = b"x" * ((1 << 20) - 200)
    for i in range(n):
        W(b'{"type":"value","data":["near_start","request_id",%d,"payload","%s"]}\n' % (i + 1, pad))


def giant_lines(n):
    # 64 MiB lines: skipped by the line reader without being buffered whole.
    chunk = b"y" * (1 << 20)
    for i in range(n):
        W(b'{"type":"value","data":["giant_start","request_id",%d,"payload","' % (i + 1))
        for _ in range(64):
            W(chunk)
        W(b'"]}\n')
    W(b'{"type":"value","data":["after_giant","request_id",1,"duration",5]}\n')


def deep_chain(n):
    # Each span the child of the previous one, none ended until the end of input.
    W(b'{"type":"value","data":["chain_start","request_id",1]}\n')
    for i in range(2, n + 1):
        W(b'{"type":"value","data":["chain_start","request_id",%d,"parent_id",%d]}\n' % (i, i - 1))
    for i in range(n, 0, -1):
        W(b'{"type":"value","data":["chain_end","request_id",%d]}\n' % i)


def parent_cycles(n):
    # a -> b -> a: each start names the other as parent; ends arrive for half.
    for i in range(0, n, 2):
        a, b = i + 1, i + 2
        W(b'{"type":"value","data":["cyc_start","request_id",%d,"parent_id",%d]}\n' % (a, b))
        W(b'{"type":"value","data":["cyc_start","request_id",%d,"parent_id",%d]}\n' % (b, a))
        W(b'{"type":"value","data":["cyc_start","request_id",%d,"parent_id",%d]}\n' % (a, a))
        W(b'{"type":"value","data":["cyc_end","request_id",%d]}\n' % a)


def many_families(n):
    for i in range(n):
        W(b'{"type":"value","data":["fam%d_start","request_id",%d]}\n' % (i, i))


def invalid_utf8(n):
    bad = b"\xff\xfe\xc0\x80\xed\xa0\x80" * 16
    for i in range(n):
        W(b'{"type":"value","data":["u_start","request_id",%d,"s","%s"]}\n' % (i, bad))
        W(b'{"type":"value","data":["u_end","request_id",%d]}\n' % i)


def lost_flood(n):
    for _ in range(n):
        W(b'{"type": "lost_events", "data": {"events": 1000}}\n')


def huge_ids(n):
    # 64 KiB request ids on starts that never end: ids are held as keys.
    pad = b"i" * (64 << 10)
    for i in range(n):
        W(b'{"type":"value","data":["hid_start","request_id","%s%d"]}\n' % (pad, i))


# Issue 17.1: one memory budget. Each case below once held hundreds of MB.
def open_big_uri(n):
    # Open HTTP spans whose URI is 900 KB: the span name is built from it.
    uri = b"/" + b"u" * (900 * 1000)
    for i in range(n):
        W(b'{"type":"value","data":["http_request_start","request_id",%d,"method","GET","uri","%s"]}\n' % (i + 1, uri))


def long_families(n):
    # Distinct event families whose names are 900 KB.
    pad = b"f" * (900 * 1000)
    for i in range(n):
        W(b'{"type":"value","data":["%s%d_start","request_id",%d]}\n' % (pad, i, i + 1))


def many_attrs(n):
    # Open spans with 120 attributes of 4 KB each (within the span limits).
    value = b"a" * 4000
    attrs = b",".join(b'"k%d","%s"' % (k, value) for k in range(120))
    for i in range(n):
        W(b'{"type":"value","data":["attr_start","request_id",%d,%s]}\n' % (i + 1, attrs))


def big_errors(n):
    # Finished spans with a 900 KB error string (status message), for a
    # collector that never answers (scripts/adversarial.sh starts one).
    err = b"e" * (900 * 1000)
    for i in range(n):
        W(b'{"type":"value","data":["err_start","request_id",%d]}\n' % (i + 1))
        W(b'{"type":"value","data":["err_end","request_id",%d,"error","%s"]}\n' % (i + 1, err))


CASES = {f.__name__: f for f in (open_ids, huge_values, near_limit, giant_lines, deep_chain, parent_cycles,
                                 many_families, invalid_utf8, lost_flood, huge_ids,
                                 open_big_uri, long_families, many_attrs, big_errors)}

if __name__ == "__main__":
    CASES[sys.argv[1]](int(sys.argv[2]))
    out.flush()
