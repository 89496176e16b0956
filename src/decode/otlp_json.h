#pragma once
// OTLP/JSON ExportTraceServiceRequest lines (what `--exporter file` and the
// OpenTelemetry Collector's file exporter write) read back as spans, for
// `--input` replay and `bpftrace-otel report`. One request per line; a line
// is delivered whole or not at all.
//
// Accepted as the OTLP JSON encoding specifies (and the Collector writes):
// lowerCamelCase names (the proto names too), hex ids (base64 also), enums as
// integers or names, 64-bit integers as strings or numbers. Attribute values
// that are arrays, maps or bytes become their JSON text (counted).

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "decode/event.h"
#include "decode/recorded_span.h"

namespace bto {

enum class OtlpLineKind : uint8_t { kTraces, kMetrics, kLogs, kNone };

// What a JSON object line is, from its first key ("resourceSpans", ...);
// kNone for anything else. Cheap: no parse.
OtlpLineKind otlp_line_kind(std::string_view line) noexcept;

class OtlpJsonReader {
 public:
  // Parses one ExportTraceServiceRequest; on success calls `sink` once per
  // span, in file order. On failure delivers nothing and says why in `error`.
  // `padded`: simdjson::SIMDJSON_PADDING readable bytes follow `line`.
  bool read_traces(std::string_view line, bool padded, RecordedSpanSink& sink, std::string& error);

  uint64_t values_as_json() const noexcept { return values_as_json_; }  // arrays, maps, bytes
  uint64_t links_dropped() const noexcept { return links_dropped_; }

 private:
  struct SpanSlots {
    RecordedSpan span;
    size_t attributes_begin = 0, attributes_end = 0;
    size_t events_begin = 0, events_end = 0;
    size_t resource = 0;
  };
  struct EventSlots {
    RecordedEvent event;
    size_t attributes_begin = 0, attributes_end = 0;
  };
  struct ResourceSlots {
    RecordedResource resource;
    size_t attributes_begin = 0, attributes_end = 0;
  };

  bool read_resource_spans(simdjson::dom::element resource_spans, std::string& error);
  bool read_span(simdjson::dom::element span, size_t resource, std::string& error);
  bool read_attributes(simdjson::dom::element list, size_t& begin, size_t& end, std::string& error);
  bool read_value(simdjson::dom::element any_value, FieldValue& out, std::string& error);
  std::string_view keep(std::string text);

  simdjson::dom::parser parser_;
  std::vector<EventField> attributes_;
  std::vector<EventSlots> events_;
  std::vector<SpanSlots> spans_;
  std::vector<ResourceSlots> resources_;
  std::vector<RecordedEvent> event_views_;
  std::deque<std::string> texts_;  // values turned into JSON text, for this line
  uint64_t values_as_json_ = 0;
  uint64_t links_dropped_ = 0;
};

}  // namespace bto
