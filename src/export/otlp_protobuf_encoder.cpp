#include <cassert>
#include <cstdint>
#include <cstring>
#include <vector>

#include "export/otlp_encoder.h"

namespace bto {
namespace {

// Field numbers from opentelemetry/proto (collector/trace/v1, trace/v1,
// common/v1, resource/v1).
namespace request { constexpr uint32_t kResourceSpans = 1; }
namespace resource_spans { constexpr uint32_t kResource = 1, kScopeSpans = 2; }
namespace resource_msg { constexpr uint32_t kAttributes = 1; }
namespace scope_spans { constexpr uint32_t kScope = 1, kSpans = 2; }
namespace scope { constexpr uint32_t kName = 1, kVersion = 2; }
namespace span {
constexpr uint32_t kTraceId = 1, kSpanId = 2, kParentSpanId = 4, kName = 5, kKind = 6,
                   kStartTime = 7, kEndTime = 8, kAttributes = 9, kDroppedAttributes = 10,
                   kEvents = 11, kStatus = 15;
}
namespace event { constexpr uint32_t kTime = 1, kName = 2, kAttributes = 3; }
namespace status { constexpr uint32_t kMessage = 2, kCode = 3; }
namespace key_value { constexpr uint32_t kKey = 1, kValue = 2; }
namespace any_value {
constexpr uint32_t kString = 1, kBool = 2, kInt = 3, kDouble = 4;
}

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

constexpr size_t varint_size(uint64_t v) noexcept {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

constexpr size_t tag_size(uint32_t field) noexcept { return varint_size(uint64_t{field} << 3); }

// A length-delimited field of `length` payload bytes.
constexpr size_t ld_size(uint32_t field, size_t length) noexcept {
  return tag_size(field) + varint_size(length) + length;
}

bool all_zero(std::span<const uint8_t> bytes) noexcept {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// ---- sizing pass ----------------------------------------------------------

size_t any_value_size(const Attribute& a) noexcept {
  switch (a.type) {
    case AttrType::kString: return ld_size(any_value::kString, a.string_value.size());
    case AttrType::kBool: return tag_size(any_value::kBool) + 1;
    // int64 as varint: negative values take ten bytes (two's complement).
    case AttrType::kInt: return tag_size(any_value::kInt) + varint_size(static_cast<uint64_t>(a.int_value));
    case AttrType::kDouble: return tag_size(any_value::kDouble) + 8;
  }
  return 0;
}

size_t key_value_size(const Attribute& a) noexcept {
  size_t n = ld_size(key_value::kValue, any_value_size(a));
  if (!a.key.empty()) n += ld_size(key_value::kKey, a.key.size());
  return n;
}

size_t attributes_size(uint32_t field, const AttributeList& list) noexcept {
  size_t n = 0;
  for (const Attribute& a : list.items()) n += ld_size(field, key_value_size(a));
  return n;
}

size_t event_size(const SpanEventRecord& e) noexcept {
  size_t n = 0;
  if (e.time_unix_ns != 0) n += tag_size(event::kTime) + 8;
  if (!e.name.empty()) n += ld_size(event::kName, e.name.size());
  n += attributes_size(event::kAttributes, e.attributes);
  return n;
}

size_t status_size(const SpanRecord& s) noexcept {
  size_t n = 0;
  if (!s.status_message.empty()) n += ld_size(status::kMessage, s.status_message.size());
  if (s.status != StatusCode::kUnset) n += tag_size(status::kCode) + varint_size(static_cast<uint64_t>(s.status));
  return n;
}

size_t span_size(const SpanRecord& s) noexcept {
  size_t n = ld_size(span::kTraceId, s.trace_id.size()) + ld_size(span::kSpanId, s.span_id.size());
  if (!all_zero(s.parent_span_id)) n += ld_size(span::kParentSpanId, s.parent_span_id.size());
  if (!s.name.empty()) n += ld_size(span::kName, s.name.size());
  if (s.kind != SpanKind::kUnspecified) n += tag_size(span::kKind) + varint_size(static_cast<uint64_t>(s.kind));
  if (s.start_time_unix_ns != 0) n += tag_size(span::kStartTime) + 8;
  if (s.end_time_unix_ns != 0) n += tag_size(span::kEndTime) + 8;
  n += attributes_size(span::kAttributes, s.attributes);
  if (s.dropped_attributes_count != 0) n += tag_size(span::kDroppedAttributes) + varint_size(s.dropped_attributes_count);
  for (const SpanEventRecord& e : s.events) n += ld_size(span::kEvents, event_size(e));
  // Status is always present, as the official SDKs send it.
  n += ld_size(span::kStatus, status_size(s));
  return n;
}

size_t scope_size(const ResourceInfo& r) noexcept {
  size_t n = 0;
  if (!r.scope_name.empty()) n += ld_size(scope::kName, r.scope_name.size());
  if (!r.scope_version.empty()) n += ld_size(scope::kVersion, r.scope_version.size());
  return n;
}

// ---- writing pass ---------------------------------------------------------

class Writer {
 public:
  explicit Writer(char* p) noexcept : p_(p) {}
  char* position() const noexcept { return p_; }

  void varint(uint64_t v) noexcept {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void tag(uint32_t field, WireType type) noexcept { varint((uint64_t{field} << 3) | type); }
  void bytes(const void* data, size_t size) noexcept {
    if (size != 0) std::memcpy(p_, data, size);
    p_ += size;
  }
  void length_delimited(uint32_t field, const void* data, size_t size) noexcept {
    tag(field, kLengthDelimited);
    varint(size);
    bytes(data, size);
  }
  void string(uint32_t field, std::string_view s) noexcept { length_delimited(field, s.data(), s.size()); }
  void begin_message(uint32_t field, size_t size) noexcept {
    tag(field, kLengthDelimited);
    varint(size);
  }
  void fixed64(uint32_t field, uint64_t v) noexcept {
    tag(field, kFixed64);
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
  }
  void varint_field(uint32_t field, uint64_t v) noexcept {
    tag(field, kVarint);
    varint(v);
  }

 private:
  char* p_;
};

void write_attributes(Writer& w, uint32_t field, const AttributeList& list) noexcept {
  for (const Attribute& a : list.items()) {
    w.begin_message(field, key_value_size(a));
    if (!a.key.empty()) w.string(key_value::kKey, a.key);
    w.begin_message(key_value::kValue, any_value_size(a));
    switch (a.type) {
      case AttrType::kString: w.string(any_value::kString, a.string_value); break;
      case AttrType::kBool: w.varint_field(any_value::kBool, a.bool_value ? 1 : 0); break;
      case AttrType::kInt: w.varint_field(any_value::kInt, static_cast<uint64_t>(a.int_value)); break;
      case AttrType::kDouble: {
        uint64_t bits;
        std::memcpy(&bits, &a.double_value, sizeof(bits));
        w.fixed64(any_value::kDouble, bits);
        break;
      }
    }
  }
}

void write_span(Writer& w, const SpanRecord& s, size_t size) noexcept {
  w.begin_message(scope_spans::kSpans, size);
  [[maybe_unused]] const char* start = w.position();
  w.length_delimited(span::kTraceId, s.trace_id.data(), s.trace_id.size());
  w.length_delimited(span::kSpanId, s.span_id.data(), s.span_id.size());
  if (!all_zero(s.parent_span_id)) {
    w.length_delimited(span::kParentSpanId, s.parent_span_id.data(), s.parent_span_id.size());
  }
  if (!s.name.empty()) w.string(span::kName, s.name);
  if (s.kind != SpanKind::kUnspecified) w.varint_field(span::kKind, static_cast<uint64_t>(s.kind));
  if (s.start_time_unix_ns != 0) w.fixed64(span::kStartTime, s.start_time_unix_ns);
  if (s.end_time_unix_ns != 0) w.fixed64(span::kEndTime, s.end_time_unix_ns);
  write_attributes(w, span::kAttributes, s.attributes);
  if (s.dropped_attributes_count != 0) w.varint_field(span::kDroppedAttributes, s.dropped_attributes_count);
  for (const SpanEventRecord& e : s.events) {
    w.begin_message(span::kEvents, event_size(e));
    if (e.time_unix_ns != 0) w.fixed64(event::kTime, e.time_unix_ns);
    if (!e.name.empty()) w.string(event::kName, e.name);
    write_attributes(w, event::kAttributes, e.attributes);
  }
  w.begin_message(span::kStatus, status_size(s));
  if (!s.status_message.empty()) w.string(status::kMessage, s.status_message);
  if (s.status != StatusCode::kUnset) w.varint_field(status::kCode, static_cast<uint64_t>(s.status));
  assert(static_cast<size_t>(w.position() - start) == size);
}

}  // namespace

void encode_otlp_protobuf(const ResourceInfo& resource, std::span<const SpanRecord* const> spans,
                          std::string& out) {
  // Each span's size is needed twice (the total, then its own length prefix):
  // computed once. Per encoding thread, so it allocates only while growing.
  // (A span is far below 4 GiB: lines, attributes and events are bounded.)
  thread_local std::vector<uint32_t> span_sizes;
  span_sizes.resize(spans.size());
  size_t spans_total = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    const size_t size = span_size(*spans[i]);
    span_sizes[i] = static_cast<uint32_t>(size);
    spans_total += ld_size(scope_spans::kSpans, size);
  }
  const size_t resource_body = attributes_size(resource_msg::kAttributes, resource.attributes);
  const size_t scope_spans_body = ld_size(scope_spans::kScope, scope_size(resource)) + spans_total;
  const size_t resource_spans_body =
      ld_size(resource_spans::kResource, resource_body) + ld_size(resource_spans::kScopeSpans, scope_spans_body);
  const size_t total = ld_size(request::kResourceSpans, resource_spans_body);

  out.resize(total);  // keeps capacity: no allocation once the buffer has grown
  Writer w(out.data());
  w.begin_message(request::kResourceSpans, resource_spans_body);
  w.begin_message(resource_spans::kResource, resource_body);
  write_attributes(w, resource_msg::kAttributes, resource.attributes);
  w.begin_message(resource_spans::kScopeSpans, scope_spans_body);
  w.begin_message(scope_spans::kScope, scope_size(resource));
  if (!resource.scope_name.empty()) w.string(scope::kName, resource.scope_name);
  if (!resource.scope_version.empty()) w.string(scope::kVersion, resource.scope_version);
  for (size_t i = 0; i < spans.size(); ++i) write_span(w, *spans[i], span_sizes[i]);
  assert(w.position() == out.data() + total);
}

}  // namespace bto
