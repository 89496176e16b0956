#!/usr/bin/python3
"""Test OTLP/HTTP trace receiver that checks every request against the OFFICIAL
OpenTelemetry proto schema (compiled by fetch_protos.sh), with fault injection.

  otlp_receiver.py --protos DIR [--port N] [--cert F --key F [--client-ca F]]

Prints the port it listens on (127.0.0.1) as the first stdout line.
  POST /v1/traces  OTLP/HTTP, protobuf or JSON, optionally gzip
  POST /v1/metrics OTLP/HTTP protobuf (optionally gzip): ExportMetricsServiceRequest,
                   canonical like traces; faults do not apply
  GET  /received_metrics  JSON: every data point received, flattened (see record_metrics)
  GET  /received   JSON: every span received (typed), request counts, headers seen
  POST /control    JSON fault settings, applied to the next trace requests:
    {"fail_first": N, "status": S, "message": "...", "retry_after": "2"}
        (status without fail_first: every request fails)
    {"reset_connection_first": N}      read the request, then close with a TCP RST
    {"delay_ms": M, "delay_first": N}  answer late; spans are kept only if the
                                       client is still connected by then
    {"partial_success": {"rejected": K, "message": "..."}}
    {"reset": true}                    forget everything (spans and faults)
Protobuf requests must re-serialize to the very same bytes (canonical encoding,
no unknown fields); JSON is parsed with ignore_unknown_fields=False.
Decoding, the /received span records and the fault counters are shared with
the other receiver: otlp_receiver_common.py.
"""
import base64
import gzip
import json
import select
import socket
import ssl
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import otlp_receiver_common as common
from otlp_receiver_common import attr_list

ARGS = common.parse_args(port_required=False)
from google.protobuf import json_format  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: E402
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2  # noqa: E402

STORE = common.Store(common.fresh_state)
LOCK, STATE, FAULTS = STORE.lock, STORE.state, STORE.faults


def fresh_metrics_state():
    return {"requests": 0, "accepted": 0, "content_encodings": [], "headers": [], "points": [], "errors": []}


METRICS = fresh_metrics_state()


def hex_to_b64(obj, key, length):
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str) or len(value) != length or value != value.lower():
        raise ValueError("%s must be %d lowercase hex characters, got %r" % (key, length, value))
    obj[key] = base64.b64encode(bytes.fromhex(value)).decode()


def decode(body, content_type):
    if content_type.startswith("application/x-protobuf"):
        return common.decode_canonical(body, trace_service_pb2.ExportTraceServiceRequest)
    request = trace_service_pb2.ExportTraceServiceRequest()
    if content_type.startswith("application/json"):
        data = json.loads(body.decode("utf-8"))
        for rs in data.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for span in ss.get("spans", []):
                    hex_to_b64(span, "traceId", 32)
                    hex_to_b64(span, "spanId", 16)
                    hex_to_b64(span, "parentSpanId", 16)
        json_format.ParseDict(data, request, ignore_unknown_fields=False)
    else:
        raise ValueError("unexpected content type %r" % content_type)
    return request


def record_metrics(request):
    """One entry per data point, with its metric, scope and resource."""
    with LOCK:
        for rm in request.resource_metrics:
            resource = attr_list(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    data = getattr(metric, kind)
                    for p in data.data_points:
                        point = {
                            "metric": metric.name,
                            "description": metric.description,
                            "unit": metric.unit,
                            "kind": kind,
                            "temporality": int(getattr(data, "aggregation_temporality", 0)),
                            "is_monotonic": bool(getattr(data, "is_monotonic", False)),
                            "attributes": attr_list(p.attributes),
                            "start": str(p.start_time_unix_nano),
                            "time": str(p.time_unix_nano),
                            "resource": resource,
                            "scope_name": sm.scope.name,
                            "scope_version": sm.scope.version,
                        }
                        if kind == "histogram":
                            point.update({
                                "count": str(p.count),
                                "sum": repr(p.sum) if p.HasField("sum") else None,
                                "min": repr(p.min) if p.HasField("min") else None,
                                "max": repr(p.max) if p.HasField("max") else None,
                                "bucket_counts": [str(c) for c in p.bucket_counts],
                                "explicit_bounds": [repr(b) for b in p.explicit_bounds],
                            })
                        elif kind in ("sum", "gauge"):
                            which = p.WhichOneof("value")
                            point["value"] = str(p.as_int) if which == "as_int" else repr(p.as_double)
                            point["value_type"] = str(which)
                        METRICS["points"].append(point)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def send(self, status, body, content_type, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length)

    def do_GET(self):
        if self.path == "/received_metrics":
            with LOCK:
                body = json.dumps(METRICS).encode()
            self.send(200, body, "application/json")
            return
        if self.path != "/received":
            self.send(404, b"not found", "text/plain")
            return
        with LOCK:
            body = json.dumps(STATE).encode()
        self.send(200, body, "application/json")

    def do_POST(self):
        if self.path == "/control":
            settings = json.loads(self.read_body() or b"{}")
            with LOCK:
                STORE.apply_common_control(settings)
                if settings.get("reset"):
                    METRICS.clear()
                    METRICS.update(fresh_metrics_state())
                if "status" in settings:
                    FAULTS["fail"] = settings.get("fail_first", -1)
                    FAULTS["status"] = settings["status"]
                    FAULTS["message"] = settings.get("message", "injected failure")
                    FAULTS["retry_after"] = settings.get("retry_after")
                if "reset_connection_first" in settings:
                    FAULTS["reset"] = settings["reset_connection_first"]
            self.send(200, b"{}", "application/json")
            return
        if self.path == "/v1/metrics":
            self.handle_metrics()
            return
        if self.path != "/v1/traces":
            self.send(404, b"not found", "text/plain")
            return

        body = self.read_body()
        content_type = self.headers.get("Content-Type", "")
        encoding = self.headers.get("Content-Encoding", "")
        with LOCK:
            STATE["requests"] += 1
            STATE["content_types"].append(content_type)
            STATE["content_encodings"].append(encoding)
            STATE["headers"].append({k.lower(): v for k, v in self.headers.items()})
            STATE["client_ports"].append(self.client_address[1])
        is_json = content_type.startswith("application/json")

        if STORE.take_fault("reset"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if STORE.take_fault("fail"):
            with LOCK:
                status, message, retry_after = FAULTS["status"], FAULTS["message"], FAULTS["retry_after"]
            extra = [("Retry-After", retry_after)] if retry_after else []
            if is_json:
                self.send(status, json.dumps({"code": 14, "message": message}).encode(), "application/json", extra)
            else:
                self.send(status, common.rpc_status(14, message), "application/x-protobuf", extra)
            return
        if STORE.take_fault("delay"):
            time.sleep(FAULTS.get("delay_ms", 0) / 1000.0)
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                self.close_connection = True  # the client gave up: like a lost request
                return

        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding:
                raise ValueError("unexpected Content-Encoding %r" % encoding)
            request = decode(body, content_type)
        except Exception as error:  # noqa: BLE001 - report anything as a schema failure
            STORE.error("%s: %s" % (type(error).__name__, error))
            self.send(400, ("bad request: %s" % error).encode(), "text/plain")
            return
        STORE.record(request)
        with LOCK:
            STATE["accepted"] += 1
            partial = FAULTS.get("partial")
        if is_json:
            response = {}
            if partial:
                response["partialSuccess"] = {"rejectedSpans": str(partial.get("rejected", 0)),
                                              "errorMessage": partial.get("message", "")}
            self.send(200, json.dumps(response).encode(), "application/json")
        else:
            self.send(200, common.partial_success_response(partial), "application/x-protobuf")


    def handle_metrics(self):
        body = self.read_body()
        content_type = self.headers.get("Content-Type", "")
        encoding = self.headers.get("Content-Encoding", "")
        with LOCK:
            METRICS["requests"] += 1
            METRICS["content_encodings"].append(encoding)
            METRICS["headers"].append({k.lower(): v for k, v in self.headers.items()})
        try:
            if not content_type.startswith("application/x-protobuf"):
                raise ValueError("unexpected content type %r" % content_type)
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding:
                raise ValueError("unexpected Content-Encoding %r" % encoding)
            request = common.decode_canonical(body, metrics_service_pb2.ExportMetricsServiceRequest)
        except Exception as error:  # noqa: BLE001 - report anything as a schema failure
            with LOCK:
                METRICS["errors"].append("%s: %s" % (type(error).__name__, error))
            self.send(400, ("bad request: %s" % error).encode(), "text/plain")
            return
        record_metrics(request)
        with LOCK:
            METRICS["accepted"] += 1
        self.send(200, b"", "application/x-protobuf")


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Failed TLS handshakes (the negative mTLS tests) land here: one line, no traceback.
        print("receiver: connection error: %s" % (sys.exc_info()[1],), file=sys.stderr, flush=True)


def main():
    server = Server(("127.0.0.1", ARGS.port), Handler)
    if ARGS.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ARGS.cert, ARGS.key)
        if ARGS.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(ARGS.client_ca)
        # Handshake in the handler thread, so a bad client cannot stall accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
