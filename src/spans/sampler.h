#pragma once
// Private to spans/: the head sampler (OTEL_TRACES_SAMPLER, decided when a
// span gets its ids, inherited by children) and the tail rule (errors, slow
// spans) that can still keep a span the head sampler dropped. Inline: once
// per span.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "spans/correlator.h"
#include "spans/span_record.h"

namespace bto {

// How a span got its parent, for the parent-based samplers.
struct ParentLink {
  enum Kind : uint8_t { kNone, kLocal, kRemote } kind = kNone;
  bool sampled = true;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options) noexcept
      : options_(options),
        ratio_bound_(ratio_bound(options.ratio)),
        keep_slower_ns_(static_cast<uint64_t>(std::max<int64_t>(options.keep_slower_than.count(), 0))) {}

  bool head_decision(ParentLink parent, const TraceId& trace_id) const noexcept {
    switch (options_.kind) {
      case SamplerKind::kAlwaysOn:
        return true;
      case SamplerKind::kAlwaysOff:
        return false;
      case SamplerKind::kTraceIdRatio:
        return ratio_samples(trace_id);
      case SamplerKind::kParentBasedAlwaysOn:
        return parent.kind == ParentLink::kNone ? true : parent.sampled;
      case SamplerKind::kParentBasedAlwaysOff:
        return parent.kind == ParentLink::kNone ? false : parent.sampled;
      case SamplerKind::kParentBasedTraceIdRatio:
        return parent.kind == ParentLink::kNone ? ratio_samples(trace_id) : parent.sampled;
    }
    return true;
  }

  bool tail_keeps(const SpanRecord& span) const noexcept {
    if (options_.keep_errors && span.status == StatusCode::kError) return true;
    return keep_slower_ns_ != 0 && span.end_time_unix_ns - span.start_time_unix_ns > keep_slower_ns_;
  }

 private:
  // TraceIdRatioBased as the OpenTelemetry Go SDK: the trace id's lower 8
  // bytes (big endian) shifted right by one, compared with ratio * 2^63.
  static uint64_t ratio_bound(double ratio) noexcept {
    if (!(ratio > 0)) return 0;
    if (ratio >= 1) return uint64_t{1} << 63;
    return static_cast<uint64_t>(ratio * 9223372036854775808.0);
  }

  bool ratio_samples(const TraceId& trace_id) const noexcept {
    uint64_t low = 0;
    for (size_t i = 8; i < 16; ++i) low = low << 8 | trace_id[i];
    return (low >> 1) < ratio_bound_;
  }

  const SamplerOptions options_;
  const uint64_t ratio_bound_;
  const uint64_t keep_slower_ns_;
};

}  // namespace bto
