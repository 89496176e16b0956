"""What the OTLP/HTTP (otlp_receiver.py) and OTLP/gRPC (otlp_grpc_receiver.py)
test receivers share: the command line, strict decoding against the official
schema, the typed span records TestReceiver reads back (/received), and the
fault counters. Imported by both scripts, which sit in this directory; not a
program itself.

The official protos are compiled at build time into the directory given with
--protos, so nothing here imports them: callers pass message classes in.
"""
import argparse
import sys
import threading


def parse_args(port_required):
    p = argparse.ArgumentParser()
    p.add_argument("--protos", required=True)
    if port_required:
        p.add_argument("--port", type=int, required=True)
    else:
        p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca")
    args = p.parse_args()
    sys.path.insert(0, args.protos)  # the compiled official protos
    return args


# ---- protobuf wire helpers (for the few messages newer than the schema) ----

def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def partial_success_response(partial):
    """ExportTraceServiceResponse{partial_success}: field 1 is newer than the
    0.36.1 schema, so it is encoded by hand. Empty when there is none."""
    if not partial:
        return b""
    inner = varint(1 << 3) + varint(partial.get("rejected", 0)) + ld(2, partial.get("message", "").encode())
    return ld(1, inner)


def rpc_status(code, message):
    """google.rpc.Status{code, message} (no details)."""
    return varint(1 << 3) + varint(code) + ld(2, message.encode())


# ---- decoding ----------------------------------------------------------------

def decode_canonical(body, message):
    """Parses `body` as `message` (a class from the official protos) and insists
    it re-serializes to the very same bytes: canonical encoding, no unknown fields."""
    request = message()
    request.ParseFromString(body)
    again = request.SerializeToString(deterministic=True)
    request.DiscardUnknownFields()
    if request.SerializeToString(deterministic=True) != again:
        raise ValueError("protobuf has fields unknown to the official schema")
    if again != body:
        raise ValueError("protobuf not canonical or has unknown fields (%d bytes in, %d re-encoded)"
                         % (len(body), len(again)))
    return request


def attr_list(kvs):
    out = []
    for kv in kvs:
        which = kv.value.WhichOneof("value")
        if which == "string_value":
            out.append({"key": kv.key, "type": "string", "value": kv.value.string_value})
        elif which == "bool_value":
            out.append({"key": kv.key, "type": "bool", "value": kv.value.bool_value})
        elif which == "int_value":
            out.append({"key": kv.key, "type": "int", "value": str(kv.value.int_value)})
        elif which == "double_value":
            out.append({"key": kv.key, "type": "double", "value": repr(kv.value.double_value)})
        elif which == "array_value":
            # string[] (process.command_args): the values, NUL-joined, as one string
            values = kv.value.array_value.values
            if any(v.WhichOneof("value") != "string_value" for v in values):
                raise ValueError("array attribute %r holds non-string values" % kv.key)
            out.append({"key": kv.key, "type": "array", "value": "\0".join(v.string_value for v in values)})
        else:
            out.append({"key": kv.key, "type": str(which), "value": None})
    return out


# ---- state -------------------------------------------------------------------

def fresh_state(**extra):
    """The /received document (keys read by tests/receiver/test_receiver.cpp)."""
    state = {
        "requests": 0,          # export requests seen, faulted ones included
        "accepted": 0,          # export requests answered OK
        "content_types": [],
        "content_encodings": [],
        "headers": [],          # per request, lower-case names
        "client_ports": [],     # per request: one port means one kept-alive connection
        "spans": [],
        "duplicates": 0,
        "errors": [],
    }
    state.update(extra)
    return state


class Store:
    """Everything the receiver remembers, under one lock. `state` is the
    /received document; it, `seen` and `faults` are only ever changed in place,
    so module-level aliases of them stay valid across resets."""

    def __init__(self, make_state):
        self.lock = threading.Lock()
        self.make_state = make_state
        self.state = make_state()
        self.seen = set()       # (trace_id, span_id) of every span kept
        self.faults = {}

    def reset(self):
        """Forgets spans and faults; call with the lock held."""
        self.state.clear()
        self.state.update(self.make_state())
        self.seen.clear()
        self.faults.clear()

    def apply_common_control(self, settings):
        """The /control settings both receivers share; call with the lock held."""
        if settings.get("reset"):
            self.reset()
        if "delay_ms" in settings:
            self.faults["delay"] = settings.get("delay_first", -1)
            self.faults["delay_ms"] = settings["delay_ms"]
        if "partial_success" in settings:
            self.faults["partial"] = settings["partial_success"]

    def take_fault(self, name):
        """Decrements a per-request fault counter; True when this request gets the fault."""
        with self.lock:
            left = self.faults.get(name, 0)
            if left == 0:
                return False
            if left > 0:
                self.faults[name] = left - 1
            return True

    def record(self, request):
        """Keeps every span of an ExportTraceServiceRequest, typed, counting
        (trace_id, span_id) pairs seen before as duplicates."""
        with self.lock:
            for rs in request.resource_spans:
                resource = attr_list(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        key = (span.trace_id, span.span_id)
                        if key in self.seen:
                            self.state["duplicates"] += 1
                        self.seen.add(key)
                        self.state["spans"].append({
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "name": span.name,
                            "kind": int(span.kind),
                            "start": str(span.start_time_unix_nano),
                            "end": str(span.end_time_unix_nano),
                            "attributes": attr_list(span.attributes),
                            "dropped_attributes_count": span.dropped_attributes_count,
                            "events": [{"name": e.name, "time": str(e.time_unix_nano),
                                        "attributes": attr_list(e.attributes)} for e in span.events],
                            "has_status": span.HasField("status"),
                            "status_code": int(span.status.code),
                            "status_message": span.status.message,
                            "resource": resource,
                            "scope_name": ss.scope.name,
                            "scope_version": ss.scope.version,
                        })

    def error(self, text):
        with self.lock:
            self.state["errors"].append(text)
