#pragma once
// Private to spans/: the spans of an OTLP/JSON recording (`--input` of a file
// --exporter file wrote), back into records unchanged: ids, parent, name,
// kind, times, attributes, events, status, with the resource and scope they
// were recorded with. Not paired, not sampled again, not seen by the span
// metrics (they describe the run that recorded them).

#include <cstddef>

#include "common/log.h"
#include "decode/recorded_span.h"
#include "spans/correlator.h"
#include "spans/span_emitter.h"

namespace bto {

// Resources are interned for the process's life (spans in the export queue
// point at them), at most this many distinct ones; beyond, a span gets the
// exporter's own resource and is counted (recorded_resources_over_limit).
inline constexpr size_t kMaxRecordedResources = 1024;

class RecordedSpans {
 public:
  RecordedSpans(SpanEmitter& emitter, CorrelatorStats& stats) : emitter_(emitter), stats_(stats) {}
  void add(const RecordedResource& resource, const RecordedSpan& span);

 private:
  SpanEmitter& emitter_;
  CorrelatorStats& stats_;
  RateLimitedLog resources_log_;
};

// A recorded resource as the encoders need it: its attributes as the span's
// Resource (grouping, the Resource message) and its scope (SpanRecord::origin).
struct RecordedOrigin {
  ResourceInfo info;
  ResourceRef resource;
};

// The process-wide copy of `resource` (attributes and scope), or nullptr
// when kMaxRecordedResources distinct ones are held already.
const RecordedOrigin* intern_recorded_resource(const RecordedResource& resource);

}  // namespace bto
