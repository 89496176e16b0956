#pragma once
// Getting span metrics out: a periodic reader (its own thread) collects the
// cumulative snapshot every interval and hands it to a MetricsExporter (OTLP
// or console); a final collection runs at shutdown.
//
// The OTLP exporter encodes once and gives the bytes to a MetricsTransport, so
// OTLP/gRPC can replace OTLP/HTTP without touching the encoder or the reader.

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "export/local_output.h"
#include "export/otlp_exporter.h"
#include "export/span_exporter.h"
#include "metrics/span_metrics.h"

namespace bto {

using SteadyTime = std::chrono::steady_clock::time_point;

// Carries one encoded ExportMetricsServiceRequest to the collector, retries
// included, until `deadline`. For gRPC: method
// /opentelemetry.proto.collector.metrics.v1.MetricsService/Export with the
// same bytes; the response is an ExportMetricsServiceResponse either way.
class MetricsTransport {
 public:
  virtual ~MetricsTransport() = default;
  // `data_points` is for counters and log lines only. Not concurrent.
  virtual ExportResult send(std::string_view request, size_t data_points, SteadyTime deadline) noexcept = 0;
  // Any thread: the running and every later send() give up promptly.
  virtual void abort() noexcept = 0;
};

// POST to options.endpoint as application/x-protobuf, with the trace
// exporter's headers, TLS, compression and retry rules. options.protocol is
// ignored: metrics are protobuf (http/json applies to spans only). Counts into `stats`.
std::unique_ptr<MetricsTransport> create_otlp_http_metrics_transport(const OtlpOptions& options,
                                                                     SpanMetricsStats& stats);
// The same over OTLP/gRPC: a unary call of
// /opentelemetry.proto.collector.metrics.v1.MetricsService/Export carrying the
// same bytes (gzip as gRPC message compression, headers as metadata), gRPC
// status codes classified per the OTLP spec. The endpoint's path is ignored.
// Throws std::runtime_error when a TLS file cannot be read (validate first).
std::unique_ptr<MetricsTransport> create_otlp_grpc_metrics_transport(const OtlpOptions& options,
                                                                     SpanMetricsStats& stats);

class MetricsExporter {
 public:
  virtual ~MetricsExporter() = default;
  // The reader thread only.
  virtual ExportResult export_metrics(const MetricsSnapshot& snapshot, SteadyTime deadline) noexcept = 0;
  // Any thread: interrupts a running export.
  virtual void shutdown() noexcept = 0;
};

std::unique_ptr<MetricsExporter> create_otlp_metrics_exporter(const ResourceInfo& resource,
                                                              std::unique_ptr<MetricsTransport> transport);
// A readable table per collection, written as one record of `out` (so it does
// not tear the console span exporter's lines); a failed write is kOutputFailed.
std::unique_ptr<MetricsExporter> create_console_metrics_exporter(std::shared_ptr<LocalOutput> out);
// --metrics-exporter file: each collection as one OTLP/JSON
// ExportMetricsServiceRequest line of `out` (the file exporter's output).
std::unique_ptr<MetricsExporter> create_file_metrics_exporter(const ResourceInfo& resource,
                                                              std::shared_ptr<LocalOutput> out);

// The human table on its own (console exporter, tests).
void format_metrics_text(const MetricsSnapshot& snapshot, std::string& out);

class MetricsReader {
 public:
  virtual ~MetricsReader() = default;  // shuts down with a zero deadline if not done yet
  // Collects and exports once more, then stops the thread; gives up on the
  // export (aborting it) when `deadline` passes. Idempotent.
  virtual void shutdown(std::chrono::milliseconds deadline) noexcept = 0;
};

// Starts the thread: every `interval`, collect from `metrics` and export
// (each export bounded by `export_timeout`). `metrics` must outlive the reader.
std::unique_ptr<MetricsReader> start_metrics_reader(SpanMetrics& metrics, std::unique_ptr<MetricsExporter> exporter,
                                                    std::chrono::milliseconds interval,
                                                    std::chrono::milliseconds export_timeout);

// OTEL_EXPORTER_OTLP_ENDPOINT semantics for the metrics signal:
// "http://h:4318" -> "http://h:4318/v1/metrics".
std::string otlp_metrics_url_from_base(std::string_view base);
// The metrics URL next to a traces URL: ".../v1/traces" -> ".../v1/metrics";
// any other path -> that URL's origin + /v1/metrics.
std::string otlp_metrics_url_from_traces(std::string_view traces_url);

}  // namespace bto
