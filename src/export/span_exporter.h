#pragma once
// Stage 4 interface, shaped like the OpenTelemetry SDK's SpanExporter.
// An instance is not called concurrently (the BatchProcessor gives each
// export worker its own exporter instance).

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "spans/span_record.h"

namespace bto {

enum class ExportResult {
  kSuccess,
  kRetryable,  // transient (429/502/503/504, connection, timeout): retried with backoff
  kPermanent,  // never retried: the batch is dropped and counted
};

// Describes the traced entity (OTLP Resource) and us (InstrumentationScope).
struct ResourceInfo {
  AttributeList attributes;  // service.name, host.name, process.*, telemetry.sdk.*, ...
  std::string scope_name = "bpftrace-exporter";
  std::string scope_version;
};

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  virtual ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept = 0;
  virtual bool force_flush(std::chrono::milliseconds timeout) noexcept = 0;
  virtual void shutdown(std::chrono::milliseconds timeout) noexcept = 0;
};

}  // namespace bto

namespace bto {
// OTEL_TRACES_EXPORTER=none: accepts and discards (spans still counted).
std::unique_ptr<SpanExporter> create_discard_exporter();
}  // namespace bto
