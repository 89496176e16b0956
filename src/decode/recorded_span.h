#pragma once
// A span read back from an OTLP/JSON recording (decode/otlp_json.h), as the
// decoder hands it to EventSink::on_recorded_span: views, like Event's.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "decode/event.h"

namespace bto {

struct RecordedEvent {
  std::string_view name;
  uint64_t time_unix_ns = 0;
  std::span<const EventField> attributes;
  uint32_t dropped_attributes = 0;
};

// Views into the reader's memory: valid during RecordedSpanSink::on_recorded_span only.
struct RecordedSpan {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_span_id{};  // all zero: none
  std::string_view name;
  std::string_view trace_state;
  uint64_t start_time_unix_ns = 0;
  uint64_t end_time_unix_ns = 0;
  std::string_view status_message;
  std::span<const EventField> attributes;
  std::span<const RecordedEvent> events;
  uint32_t dropped_attributes = 0;
  uint32_t dropped_events = 0;
  uint32_t links = 0;  // not carried over (counted)
  uint8_t kind = 0;    // OTLP Span.SpanKind
  uint8_t status_code = 0;  // OTLP Status.StatusCode
};

// The ResourceSpans and ScopeSpans a span came in.
struct RecordedResource {
  std::span<const EventField> attributes;
  std::string_view scope_name;
  std::string_view scope_version;
};

class RecordedSpanSink {
 public:
  virtual ~RecordedSpanSink() = default;
  virtual void on_recorded_span(const RecordedResource& resource, const RecordedSpan& span) = 0;
};

}  // namespace bto
