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
  uint8_t used = 0;  // bytes of `bytes`
  // SpanKind (0-5) and StatusCode (0-2) in one byte with parent_remote, so
  // that the header is 48 bytes and `bytes` ends on an 8-byte boundary.
  uint8_t kind : 3 = static_cast<uint8_t>(SpanKind::kInternal);
  uint8_t status : 2 = static_cast<uint8_t>(StatusCode::kUnset);
  uint8_t parent_remote : 1 = 0;
  // name, status message, then attributes (key pointer + length, type, value).
  std::array<char, 136> bytes;
};
// 100k of these may be held (inside OpenSpan): docs/performance.md's memory
// target (<= 64 MiB with 100k open spans) counts every byte. No padding.
static_assert(sizeof(PackedSpan) <= 184, "PackedSpan grew: re-check the 100k-open-spans memory target (docs/performance.md)");
static_assert(sizeof(PackedSpan::bytes) <= UINT8_MAX, "PackedSpan::used counts bytes in a uint8_t");

// False (and `out` unspecified) when `span` does not fit; `span` is untouched.
bool pack_open_span(const SpanRecord& span, PackedSpan& out) noexcept;

// `into` must be freshly reset (pooled); its limits are kept.
void unpack_open_span(const PackedSpan& packed, SpanRecord& into);

}  // namespace bto
