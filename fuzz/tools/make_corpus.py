#!/usr/bin/python3
"""Seed corpora for the fuzz targets, generated from tests/data/ plus a few
hand-written edge cases. Usage: make_corpus.py <repo root> <output dir>.
Writes <output dir>/<target>/<n>; nothing here is committed."""

import hashlib
import json
import os
import struct
import sys

root, out = sys.argv[1], sys.argv[2]


def write(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


# --- bpftrace lines ---------------------------------------------------------
with open(os.path.join(root, "tests/data/test-data.json")) as f:
    cases = json.load(f)
recorded = open(os.path.join(root, "tests/data/recorded-demo.jsonl"), "rb").read().decode(
    "utf-8", "surrogateescape").splitlines()

lines = []
streams = []  # whole case streams for the pipeline target
case_list = cases if isinstance(cases, list) else cases.get("cases", [cases])
for case in case_list:
    stream = []
    for item in case.get("input", []):
        if isinstance(item, str):
            lines.append(item)
            stream.append(item)
        elif isinstance(item, dict) and "advance_ns" in item:
            stream.append("@%d" % max(1, item["advance_ns"] // 1_000_000))
    if stream:
        streams.append("\n".join(stream))
lines += recorded

edge = [
    "",
    "   ",
    "{}",
    "[]",
    "42 requests",
    '{"type":"value","data":[]}',
    '{"type":"value","data":["x_start","request_id"]}',
    '{"type":"value","data":[5,"request_id",1]}',
    '{"type":"value","data":"not an array"}',
    '{"type":"printf","data":""}',
    '{"type":"printf","data":"\\n\\n"}',
    '{"type":"printf","data":"{\\"event\\":\\"a_start\\",\\"request_id\\":1}\\n{\\"event\\":\\"a_end\\",\\"request_id\\":1}\\n"}',
    '{"type":"lost_events","data":{"events":18446744073709551615}}',
    '{"type":"lost_events","data":{"events":-1}}',
    '{"data":{"request_id":1},"type":"value"}',
    '{"data":["x","k",1],"type":"value","event":"y"}',
    '{"event":"x_start","request_id":"\xff\xfe","parent_id":"1"}',
    '{"event":"x","data":{"a":{"b":[1,2]},"c":null}}',
    '{"event":5}',
    '{"event":"a_start","request_id":1} {"event":"a_end"}',
    '{"event":"' + "n" * 300 + '_start","request_id":1}',
    '{"type":"value","data":["deep_start","request_id",1,"k",' + "[" * 200 + "]" * 200 + "]}",
    '{"type":"value","data":["big","n",123456789012345678901234567890,"d",1e308,"e",-1e-320]}',
]
lines += edge

for line in lines:
    write("fuzz_decoder_line", line)
    write("fuzz_pipeline", line)
for stream in streams:
    write("fuzz_pipeline", stream)
    write("fuzz_decoder_line", stream)
# A chunk of the recorded demo: realistic pairing across many lines.
for i in range(0, len(recorded), 60):
    write("fuzz_pipeline", "\n".join(recorded[i:i + 60]) + "\n@1000\n")
write("fuzz_pipeline", "\n".join(
    '{"event":"r_start","request_id":%d,"parent_id":%d}' % (i, i - 1) for i in range(1, 20)) + "\n@600\n")
write("fuzz_pipeline", '{"event":"r_start","request_id":1,"parent_id":2}\n'
      '{"event":"r_start","request_id":2,"parent_id":1}\n{"event":"r_end","request_id":1}\n')

# --- tuple: structured from raw bytes; any bytes are a valid seed -----------
for i in range(16):
    write("fuzz_tuple", hashlib.sha256(b"tuple%d" % i).digest() * (i + 1))

# --- config parsers ---------------------------------------------------------
config = [
    "service.name=checkout,deployment.environment=prod",
    "k1=v1, k2=v%20two",
    "a=%zz", "=v", "k", ",,", "k=v,", "authorization=Bearer%20abc,x-tenant=t1",
    "bad name=v", "k=%0d%0a", "http://collector:4318", "http://h:4318/", "https://h/base/",
    "250ms", "10s", "5m", "1h", "100us", "18446744073709551615", "99999999999999999999h",
    "-1s", "1.5s", "true", "off", "yes",
]
for c in config:
    write("fuzz_config_parsers", c + "\x01")  # last byte: the parser branch
    write("fuzz_config_parsers", c + "\x00")

# --- collector responses (last byte selects the parser) ----------------------
def varint(n):
    b = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        if n:
            b.append(x | 0x80)
        else:
            b.append(x)
            return bytes(b)


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


inner = varint(1 << 3) + varint(3) + ld(2, b"3 spans rejected: too old")
responses = [
    (0, ld(1, inner)),
    (0, b""),
    (0, ld(1, varint(1 << 3) + varint(2**64 - 1))),
    (0, ld(1, b"\x08")),
    (1, b'{"partialSuccess":{"rejectedSpans":"3","errorMessage":"too old"}}'),
    (1, b'{"partialSuccess":{"rejectedSpans":3}}'),
    (1, b'{"partialSuccess":{}}'),
    (1, b'{}'),
    (2, varint(1 << 3) + varint(8) + ld(2, b"resource exhausted")),
    (2, b'{"code":8,"message":"slow down"}'),
    (2, b"<html>502 Bad Gateway</html>"),
    (3, b"120"),
    (3, b"Wed, 21 Oct 2015 07:28:00 GMT"),
    (3, b"Sun, 06 Nov 2094 08:49:37 GMT"),
    (3, b"99999999999999999999"),
    (3, b"-5"),
]
for selector, body in responses:
    write("fuzz_collector_response", body + bytes([selector]))


# --- spool segments (fuzz_spool_segment: first byte odd = a valid segment
# header is put in front of the rest) --------------------------------------
import zlib


def spool_record(body, spans=1, encoding=1, state=b"WAIT"):
    covered = struct.pack("<III", len(body), spans, encoding) + struct.pack("<I", zlib.crc32(body))
    return b"BTOR" + state + covered + struct.pack("<I", zlib.crc32(covered)) + body


records = [spool_record(b"\x0a\x02\x08\x01" * (i + 1), spans=i + 1) for i in range(3)]
write("fuzz_spool_segment", b"\x01" + b"".join(records))
write("fuzz_spool_segment", b"\x01" + spool_record(b"{}", encoding=2, state=b"SEND") + spool_record(b"abc", state=b"DONE"))
write("fuzz_spool_segment", b"\x01" + b"".join(records)[:-5])  # torn tail
write("fuzz_spool_segment", b"\x00BTOSPOOL\x01\x00\x00\x00\x00\x00\x00\x00" + records[0])
write("fuzz_spool_segment", b"\x00not a segment at all")
