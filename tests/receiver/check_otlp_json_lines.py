#!/usr/bin/env python3
"""Checks OTLP/JSON files line by line against the official protos, as the
OpenTelemetry Collector's otlpjsonfile receiver reads them: every line one
ExportTraceServiceRequest or ExportMetricsServiceRequest, parsed strictly
(unknown fields are errors; ids lowercase hex of the right length).

    check_otlp_json_lines.py --protos DIR FILE...

Prints one JSON document: counts, and every span (ids hex) in file order.
Exits 1 with the line number on the first line that does not parse."""
import argparse
import base64
import json
import sys


def hex_to_b64(obj, key, length, where):
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str) or len(value) != length or value != value.lower():
        raise ValueError("%s: %s must be %d lowercase hex characters, got %r" % (where, key, length, value))
    obj[key] = base64.b64encode(bytes.fromhex(value)).decode()


def attrs(kvs):
    out = {}
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--protos", required=True)
    p.add_argument("files", nargs="+")
    args = p.parse_args()
    sys.path.insert(0, args.protos)
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

    result = {"lines": 0, "trace_requests": 0, "metrics_requests": 0, "data_points": 0, "spans": []}
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                where = "%s:%d" % (path, number)
                if not line.endswith("\n"):
                    print("%s: line not terminated (torn write?)" % where, file=sys.stderr)
                    return 1
                try:
                    data = json.loads(line)
                    if "resourceSpans" in data:
                        for rs in data["resourceSpans"]:
                            for ss in rs.get("scopeSpans", []):
                                for span in ss.get("spans", []):
                                    hex_to_b64(span, "traceId", 32, where)
                                    hex_to_b64(span, "spanId", 16, where)
                                    hex_to_b64(span, "parentSpanId", 16, where)
                        request = trace_service_pb2.ExportTraceServiceRequest()
                        json_format.ParseDict(data, request, ignore_unknown_fields=False)
                        result["trace_requests"] += 1
                        for rs in request.resource_spans:
                            resource = attrs(rs.resource.attributes)
                            for ss in rs.scope_spans:
                                for s in ss.spans:
                                    result["spans"].append({
                                        "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                                        "parent_span_id": s.parent_span_id.hex(), "name": s.name,
                                        "kind": int(s.kind), "start": str(s.start_time_unix_nano),
                                        "end": str(s.end_time_unix_nano), "status_code": int(s.status.code),
                                        "status_message": s.status.message, "attributes": attrs(s.attributes),
                                        "events": len(s.events), "service": resource.get("service.name"),
                                        "scope": ss.scope.name})
                    elif "resourceMetrics" in data:
                        request = metrics_service_pb2.ExportMetricsServiceRequest()
                        json_format.ParseDict(data, request, ignore_unknown_fields=False)
                        result["metrics_requests"] += 1
                        for rm in request.resource_metrics:
                            for sm in rm.scope_metrics:
                                for m in sm.metrics:
                                    result["data_points"] += len(getattr(m, m.WhichOneof("data")).data_points)
                    else:
                        raise ValueError("neither resourceSpans nor resourceMetrics")
                except Exception as error:  # noqa: BLE001 - report any parse failure with its line
                    print("%s: %s" % (where, error), file=sys.stderr)
                    return 1
                result["lines"] += 1
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
