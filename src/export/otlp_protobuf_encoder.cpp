#include <cassert>
#include <cstdint>
#include <vector>

#include "export/otlp_encoder.h"
#include "export/protobuf_writer.h"
#include "export/resource_groups.h"

namespace bto {
namespace {

using namespace protobuf;

// Field numbers from opentelemetry/proto (collector/trace/v1, trace/v1,
// common/v1, resource/v1).
namespace request { constexpr uint32_t kResourceSpans = 1; }
namespace resource_spans { constexpr uint32_t kResource = 1, kScopeSpans = 2; }
namespace scope_spans { constexpr uint32_t kScope = 1, kSpans = 2; }
namespace span {
constexpr uint32_t kTraceId = 1, kSpanId = 2, kParentSpanId = 4, kName = 5, kKind = 6,
                   kStartTime = 7, kEndTime = 8, kAttributes = 9, kDroppedAttributes = 10,
                   kEvents = 11, kStatus = 15;
}
namespace event { constexpr uint32_t kTime = 1, kName = 2, kAttributes = 3; }
namespace status { constexpr uint32_t kMessage = 2, kCode = 3; }

bool all_zero(std::span<const uint8_t> bytes) noexcept {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

struct GroupSizes {
  size_t resource, scope_spans, resource_spans;  // message bodies
};

// ---- sizing pass ----------------------------------------------------------

size_t event_size(const SpanEventRecord& e) noexcept {
  size_t n = 0;
  if (e.time_unix_ns != 0) n += fixed64_size(event::kTime);
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
  if (s.start_time_unix_ns != 0) n += fixed64_size(span::kStartTime);
  if (s.end_time_unix_ns != 0) n += fixed64_size(span::kEndTime);
  n += attributes_size(span::kAttributes, s.attributes);
  if (s.dropped_attributes_count != 0) n += tag_size(span::kDroppedAttributes) + varint_size(s.dropped_attributes_count);
  for (const SpanEventRecord& e : s.events) n += ld_size(span::kEvents, event_size(e));
  // Status is always present, as the official SDKs send it.
  n += ld_size(span::kStatus, status_size(s));
  return n;
}

// ---- writing pass ---------------------------------------------------------

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

// One ResourceSpans per run of spans with the same resource: ours, or the one
// a replayed span was recorded with (SpanRecord::origin).
void encode_otlp_protobuf(const ResourceInfo& resource, std::span<const SpanRecord* const> spans,
                          std::string& out) {
  // Each span's size is needed twice (the total, then its own length prefix):
  // computed once, and likewise each group's. Per encoding thread, so they
  // allocate only while growing. (A span is far below 4 GiB: lines,
  // attributes and events are bounded.)
  thread_local ResourceGroups grouped;
  thread_local std::vector<uint32_t> span_sizes;
  thread_local std::vector<GroupSizes> group_sizes;
  grouped.assign(spans);
  const std::span<const SpanRecord* const> ordered = grouped.spans();
  span_sizes.resize(ordered.size());
  group_sizes.resize(grouped.groups().size());
  size_t total = 0;
  for (size_t g = 0; g < grouped.groups().size(); ++g) {
    const ResourceGroup& group = grouped.groups()[g];
    size_t spans_total = 0;
    for (size_t i = group.begin; i < group.end; ++i) {
      const size_t size = span_size(*ordered[i]);
      span_sizes[i] = static_cast<uint32_t>(size);
      spans_total += ld_size(scope_spans::kSpans, size);
    }
    GroupSizes& sizes = group_sizes[g];
    sizes.resource = resource_size(ResourceView(group.resource, resource));
    sizes.scope_spans = ld_size(scope_spans::kScope, scope_size(group_scope(grouped.spans_of(group), resource))) +
                        spans_total;
    sizes.resource_spans =
        ld_size(resource_spans::kResource, sizes.resource) + ld_size(resource_spans::kScopeSpans, sizes.scope_spans);
    total += ld_size(request::kResourceSpans, sizes.resource_spans);
  }

  out.resize(total);  // keeps capacity: no allocation once the buffer has grown
  Writer w(out.data());
  for (size_t g = 0; g < grouped.groups().size(); ++g) {
    const ResourceGroup& group = grouped.groups()[g];
    const GroupSizes& sizes = group_sizes[g];
    w.begin_message(request::kResourceSpans, sizes.resource_spans);
    write_resource(w, resource_spans::kResource, ResourceView(group.resource, resource), sizes.resource);
    w.begin_message(resource_spans::kScopeSpans, sizes.scope_spans);
    write_scope(w, scope_spans::kScope, group_scope(grouped.spans_of(group), resource));
    for (size_t i = group.begin; i < group.end; ++i) write_span(w, *ordered[i], span_sizes[i]);
  }
  assert(w.position() == out.data() + total);
}

}  // namespace bto
