#pragma once
// Stage 3: pairs start/end events into spans, keeps bounded state, and hands
// finished spans to a SpanSink. Single-threaded (the reader thread).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decode/decoder.h"
#include "spans/clock.h"
#include "spans/handlers/event_handler.h"
#include "spans/resource.h"
#include "spans/memory_budget.h"
#include "spans/span_observer.h"
#include "spans/span_pool.h"

namespace bto {

// OTEL_TRACES_SAMPLER. Names as in the OpenTelemetry SDK configuration spec.
enum class SamplerKind : uint8_t {
  kAlwaysOn,
  kAlwaysOff,
  kTraceIdRatio,
  kParentBasedAlwaysOn,
  kParentBasedAlwaysOff,
  kParentBasedTraceIdRatio,
};

struct SamplerOptions {
  SamplerKind kind = SamplerKind::kAlwaysOn;
  double ratio = 1.0;  // OTEL_TRACES_SAMPLER_ARG, for the traceidratio kinds
  // Tail rule: a span the head sampler dropped is still emitted if it ended in
  // error, or lasted longer than keep_slower_than (0 = off).
  bool keep_errors = false;
  std::chrono::nanoseconds keep_slower_than{0};
};

// The OpenTelemetry span limits (OTEL_SPAN_* / OTEL_ATTRIBUTE_*).
// Span names and status messages are cut to the attribute value length limit,
// and to this at most (counted in attribute_values_truncated).
inline constexpr size_t kMaxSpanTextBytes = 4096;

struct SpanLimits {
  // The spec's default is unlimited; one huge value on each of 100000 open
  // spans would hold gigabytes, so the default is 4 KiB.
  size_t attribute_value_length = 4096;
  size_t attribute_count = 128;
  size_t event_count = 128;
};

struct CorrelatorOptions {
  size_t max_open_spans = 100000;
  std::chrono::nanoseconds span_timeout = std::chrono::seconds(300);
  // How long an end whose start has not arrived is held (per-CPU buffer reordering).
  std::chrono::nanoseconds orphan_hold = std::chrono::seconds(2);
  size_t max_held_orphans = 10000;
  // Beyond this many open spans, new ones are held packed (about half the
  // memory, ~600 more instructions per span to pack and restore): a few
  // thousand full records cost little, 100k would not (docs/performance.md).
  size_t pack_open_spans_above = 2048;
  // A span starting on a thread (`tid`) where a span of one of these families
  // is open becomes its child, unless the event names its parent itself.
  bool auto_nesting = true;
  std::vector<std::string> nesting_families = {"http_request", "request"};
  // Distinct event families accepted besides the reserved ones (built-in and
  // configured families); a new family beyond it replaces the least recently
  // used one without open spans, else its events are dropped and counted.
  size_t max_families = 1024;
  // Bytes of span state (open and queued spans): the MemoryBudget the
  // pipeline gives the SpanPool (spans/memory_budget.h).
  size_t max_memory = kDefaultMaxMemory;
  SamplerOptions sampler;
  SpanLimits limits;
};

struct CorrelatorStats {
  std::atomic<uint64_t> spans_started{0};
  std::atomic<uint64_t> spans_ended{0};            // paired start/end, emitted normally
  std::atomic<uint64_t> spans_single{0};           // single events with duration (or point events
                                                   // with no span to attach to), emitted at once
  std::atomic<uint64_t> span_events{0};            // point events attached to an open span
  std::atomic<uint64_t> span_events_dropped{0};    // per-span event cap reached
  std::atomic<uint64_t> spans_timed_out{0};        // emitted with error status
  std::atomic<uint64_t> spans_evicted{0};          // emitted with error status (capacity)
  std::atomic<uint64_t> spans_evicted_memory{0};   // the part of spans_evicted due to max_memory
  std::atomic<uint64_t> spans_superseded{0};       // second start with the same key
  std::atomic<uint64_t> spans_from_orphan_end{0};  // end with duration, start never came
  std::atomic<uint64_t> orphan_ends_dropped{0};    // end without duration, start never came
  std::atomic<uint64_t> orphan_ends_evicted{0};    // held-orphan buffer full
  std::atomic<uint64_t> missing_request_id{0};
  std::atomic<uint64_t> parent_not_found{0};     // parent_id named no open span
  std::atomic<uint64_t> flushed_at_shutdown{0};  // still open at end of input
  std::atomic<uint64_t> open_spans{0};           // gauge
  std::atomic<uint64_t> lost_events{0};          // reported by bpftrace
  std::atomic<uint64_t> trace_context_joined{0};   // spans that continued a traceparent / trace_id
  std::atomic<uint64_t> trace_context_invalid{0};  // malformed traceparent / trace_id / span_id: ignored
  std::atomic<uint64_t> spans_auto_nested{0};      // parent found by thread (auto nesting)
  std::atomic<uint64_t> spans_sampled_out{0};      // finished but not emitted (head sampler)
  std::atomic<uint64_t> spans_kept_by_tail{0};     // head sampler dropped, tail rule kept (error/slow)
  std::atomic<uint64_t> attribute_values_truncated{0};  // string values (and span names) cut to the limit
  std::atomic<uint64_t> attributes_dropped{0};          // beyond the attribute count limit
  std::atomic<uint64_t> families_rejected{0};           // events of a new family: table full, all in use
  std::atomic<uint64_t> families_replaced{0};           // unused families aged out for a new one (LRU)
  // Paired spans whose end came before their start (clock skew, reordered or
  // forged timestamps): end set to start, marked with kEndBeforeStartKey.
  std::atomic<uint64_t> end_before_start{0};
  // Set once an event without a timestamp of its own was stamped on arrival:
  // from then on the reader stops holding events back for long
  // (SourceOptions::read_coalesce_timestamped).
  std::atomic<bool> arrival_times_used{false};
  // Written only until set: the flag stays a read for the reader thread after that.
  void note_arrival_time() noexcept {
    if (!arrival_times_used.load(std::memory_order_relaxed)) arrival_times_used.store(true, std::memory_order_relaxed);
  }
  std::atomic<uint64_t> spans_replayed{0};              // from an OTLP/JSON recording (--input), sent on unchanged
  std::atomic<uint64_t> recorded_resources_over_limit{0};  // replayed spans sent with our resource (kMaxRecordedResources)
};

// The attribute of a span emitted without its pair, saying why: timeout,
// evicted, superseded, shutdown or orphan_end.
inline constexpr std::string_view kIncompleteKey = "bpftrace_otel.incomplete";
// On a span whose end event was timestamped before its start: by how many
// nanoseconds. OTLP needs end >= start, so the end is set to the start.
inline constexpr std::string_view kEndBeforeStartKey = "bpftrace_otel.end_before_start_ns";

class Correlator : public EventSink {
 public:
  // Emits timed-out spans and gives up on held orphan ends. Call regularly
  // (each chunk read and on poll timeouts); cost is proportional to expiries.
  virtual void sweep() = 0;
  // End of input: every open span is emitted (error status, reason attribute).
  virtual void flush_all() = 0;
  // Sees every finished span before sampling (nullptr: none). Set before the
  // first event; the observer must outlive the correlator.
  virtual void set_observer(SpanObserver* observer) noexcept = 0;
};

// `resources` gives every span the resource of the process its event names
// (`pid` field; src/resource/), nullptr: the exporter's own resource for all.
// It must outlive the correlator.
std::unique_ptr<Correlator> create_correlator(const CorrelatorOptions& options, HandlerRegistry& handlers,
                                              SpanPool& pool, SpanSink& sink, TimestampConverter& clock,
                                              CorrelatorStats& stats, ResourceResolver* resources = nullptr);

}  // namespace bto
