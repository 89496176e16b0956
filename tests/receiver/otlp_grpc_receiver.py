#!/usr/bin/python3
"""Test OTLP/gRPC trace receiver (python3-grpcio) that checks every request
against the OFFICIAL OpenTelemetry proto schema (compiled by fetch_protos.sh),
with fault injection. Started by tests/receiver/test_receiver.cpp (TestReceiver),
so it speaks the same control protocol as otlp_receiver.py.

  otlp_grpc_receiver.py --protos DIR --port N [--cert F --key F [--client-ca F]]

Clients connect to 127.0.0.1:N: a byte relay in front of the gRPC server,
which reads the client's HTTP/2 frames (plaintext only) to record each
message's compressed flag: grpc-encoding itself is hidden from a Python
handler. The first stdout line is the port of the control HTTP(S) server:
  GET  /received   JSON: every span received (typed), request counts, metadata seen
                   (per request, lower-case keys, plus ":path" = the method called),
                   content_encodings = per gRPC message on the wire "gzip" or
                   "identity" (plaintext only), client_ports = the port of each
                   request's connection (one port: one persistent channel)
  POST /control    JSON fault settings, applied to the next Export calls:
    {"fail_first": N, "code": "UNAVAILABLE", "message": "...", "retry_delay_ms": D}
        (code without fail_first: every call fails; retry_delay_ms adds
         google.rpc.RetryInfo to grpc-status-details-bin)
    {"delay_ms": M, "delay_first": N}  answer late; spans are kept only if the
                                       call is still active by then
    {"partial_success": {"rejected": K, "message": "..."}}
    {"reset": true}                    forget everything (spans and faults)
Requests must re-serialize to the very same bytes (canonical encoding, no
unknown fields).
Decoding, the /received span records and the fault counters are shared with
the other receiver: otlp_receiver_common.py.
"""
import json
import socket
import ssl
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import otlp_receiver_common as common
from otlp_receiver_common import ld

ARGS = common.parse_args(port_required=True)
import grpc  # noqa: E402
from google.protobuf import any_pb2, duration_pb2  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: E402
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2  # noqa: E402

TRACE_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
METRICS_METHOD = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
# gRPC has one content type: content_types stays empty.
STORE = common.Store(lambda: common.fresh_state(
    metric_names=[],  # one entry per metric in accepted MetricsService/Export calls
))
LOCK, STATE, FAULTS = STORE.lock, STORE.state, STORE.faults


def status_details(code, message, retry_delay_ms):
    """google.rpc.Status{code, message, details: [Any(RetryInfo{retry_delay})]}; Any and
    Duration are the official well-known types, Status/RetryInfo are two-field wrappers."""
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(retry_delay_ms)
    retry_info = ld(1, delay.SerializeToString())
    detail = any_pb2.Any(type_url="type.googleapis.com/google.rpc.RetryInfo", value=retry_info)
    return common.rpc_status(code.value[0], message) + ld(3, detail.SerializeToString())


def export(body, context):
    metadata = {k.lower(): (v if isinstance(v, str) else v.hex()) for k, v in context.invocation_metadata()}
    metadata[":path"] = TRACE_METHOD
    peer = context.peer()  # ipv4:127.0.0.1:PORT
    with LOCK:
        STATE["requests"] += 1
        STATE["headers"].append(metadata)
        STATE["client_ports"].append(int(peer.rsplit(":", 1)[1]) if ":" in peer else 0)

    if STORE.take_fault("fail"):
        with LOCK:
            code = getattr(grpc.StatusCode, FAULTS["code"])
            message = FAULTS["message"]
            retry_delay_ms = FAULTS.get("retry_delay_ms")
        if retry_delay_ms is not None:
            context.set_trailing_metadata(
                (("grpc-status-details-bin", status_details(code, message, retry_delay_ms)),))
        context.set_code(code)
        context.set_details(message)
        return b""
    if STORE.take_fault("delay"):
        time.sleep(FAULTS.get("delay_ms", 0) / 1000.0)
        if not context.is_active():
            return b""  # the client gave up (deadline or cancel): like a lost request

    try:
        request = common.decode_canonical(body, trace_service_pb2.ExportTraceServiceRequest)
    except Exception as error:  # noqa: BLE001 - report anything as a schema failure
        STORE.error("%s: %s" % (type(error).__name__, error))
        context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
        context.set_details("bad request: %s" % error)
        return b""
    STORE.record(request)
    with LOCK:
        STATE["accepted"] += 1
        partial = FAULTS.get("partial")
    return common.partial_success_response(partial)


def export_metrics(body, context):
    """MetricsService/Export: decoded with the official schema, names recorded."""
    try:
        request = common.decode_canonical(body, metrics_service_pb2.ExportMetricsServiceRequest)
    except Exception as error:  # noqa: BLE001 - any decode failure is the client's fault
        STORE.error("metrics: %s" % error)
        context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
        context.set_details("bad metrics request: %s" % error)
        return b""
    with LOCK:
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                STATE["metric_names"].extend(m.name for m in sm.metrics)
    return b""


class Handler(grpc.GenericRpcHandler):
    def service(self, handler_call_details):
        if handler_call_details.method == METRICS_METHOD:
            return grpc.unary_unary_rpc_method_handler(export_metrics)
        if handler_call_details.method != TRACE_METHOD:
            return None  # UNIMPLEMENTED
        # No (de)serializers: the handler gets and returns raw bytes.
        return grpc.unary_unary_rpc_method_handler(export)


# ---- relay: reads the client's HTTP/2 DATA frames for the compressed flag ----

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class FrameSniffer:
    def __init__(self):
        self.buffer = b""
        self.preface_done = False
        self.streams_seen = set()

    def feed(self, data):
        self.buffer += data
        if not self.preface_done:
            if len(self.buffer) < len(PREFACE):
                return
            self.buffer = self.buffer[len(PREFACE):]
            self.preface_done = True
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[0:3], "big")
            if len(self.buffer) < 9 + length:
                return
            frame_type, flags = self.buffer[3], self.buffer[4]
            stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            payload = self.buffer[9:9 + length]
            self.buffer = self.buffer[9 + length:]
            if frame_type != 0 or stream in self.streams_seen:
                continue
            if flags & 0x8:  # PADDED
                payload = payload[1:]
            if payload:  # first byte of a stream's data: the gRPC message's compressed flag
                self.streams_seen.add(stream)
                with LOCK:
                    STATE["content_encodings"].append("gzip" if payload[0] == 1 else "identity")


def pump(source, sink, sniffer):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if sniffer is not None:
                sniffer.feed(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay(listener, upstream_port, tls):
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
        except OSError:
            client.close()
            continue
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(client, upstream, None if tls else FrameSniffer()), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, None), daemon=True).start()


# ---- control -----------------------------------------------------------------

class Control(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/received":
            self.send(404, b"{}")
            return
        with LOCK:
            body = json.dumps(STATE).encode()
        self.send(200, body)

    def do_POST(self):
        if self.path != "/control":
            self.send(404, b"{}")
            return
        settings = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        with LOCK:
            STORE.apply_common_control(settings)
            if "code" in settings:
                FAULTS["fail"] = settings.get("fail_first", -1)
                FAULTS["code"] = settings["code"]
                FAULTS["message"] = settings.get("message", "injected failure")
                FAULTS["retry_delay_ms"] = settings.get("retry_delay_ms")
        self.send(200, b"{}")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 64 << 20)])
    server.add_generic_rpc_handlers((Handler(),))
    if ARGS.cert:
        client_ca = read(ARGS.client_ca) if ARGS.client_ca else None
        credentials = grpc.ssl_server_credentials([(read(ARGS.key), read(ARGS.cert))], root_certificates=client_ca,
                                                  require_client_auth=client_ca is not None)
        upstream_port = server.add_secure_port("127.0.0.1:0", credentials)
    else:
        upstream_port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", ARGS.port))
    listener.listen(64)
    threading.Thread(target=relay, args=(listener, upstream_port, bool(ARGS.cert)), daemon=True).start()

    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    control.daemon_threads = True
    if ARGS.cert:  # TestReceiver talks https to a TLS receiver
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ARGS.cert, ARGS.key)
        control.socket = context.wrap_socket(control.socket, server_side=True)
    print(control.server_address[1], flush=True)
    try:
        control.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
