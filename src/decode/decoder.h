#pragma once
// Stage 2: one line of bpftrace output -> zero or more Events.
//
// Accepted shapes (see README "Event format"):
//   {"type":"printf","data":"<event JSON>\n<event JSON>\n"}   printf-JSON, one or more events
//   {"type":"value","data":["name","key",value,...]}          tuple events (recommended before 0.25)
//   {"type":"value","data":{"event":"name","key":value,...}}  record events (bpftrace 0.25+, recommended)
//   {"event":"name", "request_id":..., ...}                   raw event line (text mode)
//   {"event":"name", "data":{...}}                            the seed's nested form
//   {"type":"lost_events","data":{"events":N}}                counted, reported
//   attached_probes, map, hist, stats, time, ...              recognised, ignored
//   {"resourceSpans":[...]}                                   an OTLP/JSON request (a recording made
//                                                             with --exporter file): its spans, unchanged
//   {"resourceMetrics":...}, {"resourceLogs":...}             recognised, ignored
// bpftrace's \uffffffXX escapes of non-ASCII bytes are turned back into UTF-8
// first (decode/escape_repair.h). Bad input is counted by kind and reported
// through a rate-limited warning; decoding never throws and never stops the stream.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "decode/event.h"
#include "decode/recorded_span.h"

namespace bto {

// Bytes that must be readable after the end of every line handed to
// Decoder::decode_line (the simdjson padding). LineReader guarantees it.
inline constexpr size_t kLinePadding = 64;

struct DecodeOptions {
  size_t max_line_bytes = 1 << 20;  // longer lines are rejected (counted as oversized)
  size_t max_fields = 128;          // fields beyond this are dropped (counted)
};

// Written by the reader thread only; read by telemetry from any thread.
// Accounting: every document ends in exactly one outcome, so
//   documents == events + otlp_requests + ignored_records + malformed_json + not_an_object
//                + missing_event + oversized + (wrong_type - wrong_type_fields).
// invalid_utf8, dropped_fields and wrong_type_fields annotate delivered events.
struct DecodeStats {
  std::atomic<uint64_t> lines{0};
  // One per line, except that a printf record counts once per event document
  // (line) in its data, or once if its data holds none.
  std::atomic<uint64_t> documents{0};
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> ignored_records{0};  // attached_probes, maps, time, lost_events, blank lines, ...
  std::atomic<uint64_t> lost_events{0};      // sum of bpftrace lost_events.data.events
  std::atomic<uint64_t> malformed_json{0};
  std::atomic<uint64_t> not_an_object{0};   // valid JSON of the wrong shape
  std::atomic<uint64_t> missing_event{0};   // object without an event name
  std::atomic<uint64_t> wrong_type{0};      // e.g. "event": 5, nested object as field value
  std::atomic<uint64_t> wrong_type_fields{0};  // the part of wrong_type that dropped a field, not an event
  std::atomic<uint64_t> invalid_utf8{0};    // sanitised (U+FFFD), still delivered
  // Lines with bpftrace's \uffffffXX escapes of non-ASCII bytes, turned back
  // into UTF-8; of those, lines where some escaped bytes were not UTF-8 (a
  // string cut inside a character) and became U+FFFD. Still delivered.
  std::atomic<uint64_t> escapes_repaired{0};
  std::atomic<uint64_t> escapes_unrepairable{0};
  std::atomic<uint64_t> oversized{0};       // line longer than max_line_bytes
  std::atomic<uint64_t> dropped_fields{0};  // beyond max_fields
  std::atomic<uint64_t> otlp_requests{0};   // OTLP/JSON ExportTraceServiceRequest lines replayed
  std::atomic<uint64_t> recorded_spans{0};  // the spans in them

  uint64_t malformed_total() const noexcept {
    return malformed_json + not_an_object + missing_event + (wrong_type - wrong_type_fields) +
           oversized;
  }
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& event) = 0;
  virtual void on_lost_events(uint64_t count) = 0;
  // A span of an OTLP/JSON recording, to be sent on as it is. Valid during the call.
  virtual void on_recorded_span(const RecordedResource& resource, const RecordedSpan& span) {
    (void)resource;
    (void)span;
  }
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // `line` has no trailing newline; kLinePadding bytes after it are readable.
  virtual void decode_line(std::string_view line, EventSink& sink) noexcept = 0;
};

std::unique_ptr<Decoder> create_decoder(const DecodeOptions& options, DecodeStats& stats);

}  // namespace bto
