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
  // Bytes charged to the MemoryBudget while queued for export; refunded by
  // SpanPool::release (0: not charged).
  uint32_t charged_bytes = 0;
  SpanKind kind = SpanKind::kInternal;
  StatusCode status = StatusCode::kUnset;

  bool has_parent() const noexcept;
  // Back to the freshly constructed state, keeping capacity.
  void reset() noexcept;
};

std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace bto
