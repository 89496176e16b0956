#pragma once
// Private to spans/: an open span's record packed into a fixed inline buffer.
// 100k spans may be open at once; a full SpanRecord with its attribute vector
// and heap name costs ~660 bytes each, the packed form about half. A span
// whose start does not fit (long values, many attributes, span events) stays
// a full record: packing is an optimisation, never a limit.

#include <array>
#include <cstdint>

#include "spans/span_record.h"

namespace bto {

struct PackedSpan {
  // What children and late lookups read while the span is open.
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};
  uint64_t start_time_unix_ns = 0;
  uint32_t dropped_attributes = 0;
  uint16_t depth = 0;
  uint16_t used = 0;  // bytes of `bytes`
  SpanKind kind = SpanKind::kInternal;
  StatusCode status = StatusCode::kUnset;
  bool parent_remote = false;  // fits in what was padding
  // name, status message, then attributes (key pointer + length, type, value).
  std::array<char, 136> bytes;
};

// False (and `out` unspecified) when `span` does not fit; `span` is untouched.
bool pack_open_span(const SpanRecord& span, PackedSpan& out) noexcept;

// `into` must be freshly reset (pooled); its limits are kept.
void unpack_open_span(const PackedSpan& packed, SpanRecord& into);

}  // namespace bto
