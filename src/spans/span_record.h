#pragma once
// A finished (or finishing) span: plain data handed from spans/ to export/.
// Records are pooled (SpanPool): strings and vectors keep their capacity, so
// steady state allocates nothing per span. Use the helpers, not push_back.

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spans/attributes.h"
#include "spans/resource.h"

namespace bto {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// Numbering matches OTLP's Span.SpanKind.
enum class SpanKind : uint8_t {
  kUnspecified = 0,
  kInternal = 1,
  kServer = 2,
  kClient = 3,
  kProducer = 4,
  kConsumer = 5,
};

// Numbering matches OTLP's Status.StatusCode.
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

struct SpanEventRecord {
  std::string name;
  uint64_t time_unix_ns = 0;
  AttributeList attributes;
};

// Describes the traced entity (OTLP Resource) and us (InstrumentationScope).
// The exporters' own describes the spans we make; a span replayed from an
// OTLP/JSON recording keeps the one it was recorded with (SpanRecord::origin).
struct ResourceInfo {
  AttributeList attributes;  // service.name, host.name, process.*, telemetry.sdk.*, ...
  std::string scope_name = "bpftrace-exporter";
  std::string scope_version;
};

struct SpanRecord {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  std::string name;
  uint64_t start_time_unix_ns = 0;
  uint64_t end_time_unix_ns = 0;
  std::string status_message;
  AttributeList attributes;
  std::vector<SpanEventRecord> events;  // span events (point events on an open span)
  ResourceRef resource;  // the process it came from; empty: the exporter's own resource
  uint32_t dropped_attributes_count = 0;
  uint16_t depth = 0;  // nesting depth, for the console view only
  // What the correlator knew at the end, for the console's tree view: its
  // children still open then, and whether the parent is a remote caller's
  // span (traceparent) rather than one of ours.
  uint16_t open_children = 0;
  // Bytes charged to the MemoryBudget while queued for export; refunded by
  // SpanPool::release (0: not charged).
  uint32_t charged_bytes = 0;
  SpanKind kind = SpanKind::kInternal;
  StatusCode status = StatusCode::kUnset;
  bool parent_remote = false;
  // Replayed from a recording (--input of OTLP/JSON): the resource and scope
  // it was recorded with, sent instead of the exporter's own. Process-lifetime
  // (spans/recorded_spans.h); nullptr for the spans we make.
  const ResourceInfo* origin = nullptr;

  bool has_parent() const noexcept;
  // Back to the freshly constructed state, keeping capacity.
  void reset() noexcept;
};

std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace bto
