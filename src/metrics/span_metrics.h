#pragma once
// RED metrics derived from finished spans (before sampling): the aggregator is
// a SpanObserver on the reader thread; an exporter thread collects cumulative
// snapshots (metrics_snapshot.h) from it. docs/metrics.md lists every metric
// and attribute. Inside: series_table.h (attribute sets, cardinality limit),
// histogram.h (aggregation), http_measurement.h (what an HTTP span measures),
// instruments.h (tables seen as exported metrics, the snapshot).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metrics_snapshot.h"
#include "spans/span_observer.h"
#include "spans/span_record.h"

namespace bto {

// A metric declared in the config file for one event family.
struct DerivedMetric {
  std::string family;
  std::string name;
  enum class Kind { kHistogram, kCounter } kind = Kind::kHistogram;
  std::vector<std::string> attributes;  // span attribute keys; a missing one is left out of the set
  std::string unit;                     // histogram: s (default), ms, us or ns; counter: free
  std::string description;
};

// OTEL_METRICS_EXPORTER; kAuto: otlp when traces go to OTLP, else none.
// kFile: OTLP/JSON ExportMetricsServiceRequest lines into --output, with the spans.
enum class MetricsExporterKind : uint8_t { kAuto, kOtlp, kConsole, kNone, kFile };

struct SpanMetricsOptions {
  bool enabled = true;  // false: no aggregation, no export, whatever the exporter says
  MetricsExporterKind exporter = MetricsExporterKind::kAuto;
  std::chrono::milliseconds export_interval{60000};  // OTEL_METRIC_EXPORT_INTERVAL
  std::chrono::milliseconds export_timeout{30000};   // OTEL_METRIC_EXPORT_TIMEOUT, retries included
  // Attribute sets per metric, the overflow set included (OpenTelemetry SDK semantics).
  size_t cardinality_limit = 2000;
  // Seconds; the explicit bucket boundaries semantic conventions advise for
  // http.server.request.duration.
  std::vector<double> duration_buckets = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                          0.5,   0.75, 1,     2.5,  5,     7.5, 10};
  std::vector<DerivedMetric> derived;
  // Resources (traced processes) with their own series; measurements of
  // further ones go to the exporter's own resource, counted. Set from
  // resource.max_processes.
  size_t max_resources = 4096;
  // Full URL; resolved by config (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else
  // OTEL_EXPORTER_OTLP_ENDPOINT + /v1/metrics, else next to the traces URL).
  std::string endpoint;
};

// Written by the aggregator (reader thread) and the metrics exporter; read by
// /metrics and the summary.
struct SpanMetricsStats {
  std::atomic<uint64_t> spans_observed{0};
  std::atomic<uint64_t> series{0};                 // gauge: attribute sets over all metrics
  std::atomic<uint64_t> overflow_measurements{0};  // recorded into {otel.metric.overflow=true}
  std::atomic<uint64_t> resources{0};              // gauge: resources with series (the exporter's own included)
  std::atomic<uint64_t> resource_overflow_measurements{0};  // recorded under the exporter's own resource: max_resources
  std::atomic<uint64_t> export_requests{0};
  std::atomic<uint64_t> export_failures{0};  // collections whose export was given up
  std::atomic<uint64_t> data_points_exported{0};
  std::atomic<uint64_t> data_points_rejected{0};  // partial success from the collector
};

class SpanMetrics : public SpanObserver {
 public:
  // Any thread (the exporter's): replaces `out` with the current totals. The
  // reader thread waits only while numbers are copied.
  virtual void collect(MetricsSnapshot& out) = 0;
};

std::unique_ptr<SpanMetrics> create_span_metrics(const SpanMetricsOptions& options, SpanMetricsStats& stats);

// Empty when usable, else a message for the user.
std::string validate_span_metrics_options(const SpanMetricsOptions& options);

// Names of the built-in metrics (docs/metrics.md).
inline constexpr std::string_view kHttpServerDuration = "http.server.request.duration";
inline constexpr std::string_view kSpanCount = "bpftrace.spans";
inline constexpr std::string_view kSpanDuration = "bpftrace.span.duration";

}  // namespace bto
