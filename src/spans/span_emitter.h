#pragma once
// Private to spans/: span records into and out of the correlator. In: pooled
// records with the span limits set. Out (emit): name and status message
// capped, dropped and cut attributes counted, the observer told, then the
// sampler's decision sends the span to the sink or back to the pool.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/counter.h"
#include "spans/correlator.h"
#include "spans/sampler.h"
#include "spans/span_observer.h"
#include "spans/span_pool.h"

namespace bto {

class SpanEmitter {
 public:
  SpanEmitter(const SpanLimits& limits, const SamplerOptions& sampler, SpanPool& pool, SpanSink& sink,
              CorrelatorStats& stats)
      : limits_(limits),
        text_limit_(std::min(limits.attribute_value_length, kMaxSpanTextBytes)),
        sampler_(sampler),
        pool_(pool),
        sink_(sink),
        stats_(stats) {}
  ~SpanEmitter();
  SpanEmitter(const SpanEmitter&) = delete;
  SpanEmitter& operator=(const SpanEmitter&) = delete;

  const SpanLimits& limits() const noexcept { return limits_; }
  MemoryBudget* budget() const noexcept { return pool_.budget(); }
  const Sampler& sampler() const noexcept { return sampler_; }
  // Sees every finished span before sampling (nullptr: none).
  void set_observer(SpanObserver* observer) noexcept { observer_ = observer; }

  SpanPtr acquire() {
    // The record a packed start left behind saves a trip through the pool's lock.
    SpanPtr span = spare_ ? std::move(spare_) : pool_.acquire();
    span->attributes.set_limits(limits_.attribute_count, limits_.attribute_value_length);
    return span;
  }

  // A record no longer needed (its start was packed): reset, kept for the next acquire().
  void keep_spare(SpanPtr span) {
    span->reset();
    spare_ = std::move(span);
  }

  // Back to the pool without emitting (a dropped orphan end, shutdown).
  void release(SpanPtr span) { pool_.release(std::move(span)); }

  // Span names and status messages are bounded like attribute values, and
  // never longer than kMaxSpanTextBytes even when values are unlimited.
  void cap_text(std::string& text) noexcept {
    if (text.size() > text_limit_) cut_text(text);
  }

  // The end of a paired span. An end before the start (`early_ns` > 0: by
  // that much) becomes the start, marked and counted, never an invalid span.
  void set_end(SpanRecord& span, uint64_t end, uint64_t early_ns) noexcept {
    span.end_time_unix_ns = end;
    if (early_ns == 0 && end >= span.start_time_unix_ns) return;
    if (early_ns == 0) early_ns = span.start_time_unix_ns - end;
    span.end_time_unix_ns = span.start_time_unix_ns;
    span.attributes.set_reserved_int(kEndBeforeStartKey, static_cast<int64_t>(std::min<uint64_t>(early_ns, INT64_MAX)));
    bump(stats_.end_before_start);
  }

  // `family` is the event family, for the observer.
  void emit(SpanPtr span, bool sampled, std::string_view family);
  // A span replayed from a recording: limits and counts as emit(), but no
  // observer and no sampler (it was sampled when it was recorded).
  void emit_recorded(SpanPtr span);

 private:
  void cut_text(std::string& text) noexcept;
  // Name and status message capped, dropped and cut attributes counted.
  void count_limits(SpanRecord& span) noexcept;

  const SpanLimits limits_;
  const size_t text_limit_;
  const Sampler sampler_;
  SpanPool& pool_;
  SpanSink& sink_;
  CorrelatorStats& stats_;
  SpanObserver* observer_ = nullptr;
  SpanPtr spare_;  // a reset record, left over when a start was packed
};

}  // namespace bto
