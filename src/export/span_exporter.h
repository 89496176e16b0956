#pragma once
// Stage 4 interface, shaped like the OpenTelemetry SDK's SpanExporter.
// An instance is not called concurrently (the BatchProcessor gives each
// export worker its own exporter instance).

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spans/span_record.h"

namespace bto {

enum class ExportResult {
  kSuccess,
  kRetryable,  // transient (429/502/503/504, connection, timeout): retried with backoff
  kPermanent,  // never retried: the batch is dropped and counted
  // A local output (console, file) refused the bytes: disk full, closed pipe,
  // I/O error. Not retried; dropped and counted apart from the backend's refusals.
  kOutputFailed,
};

// ResourceInfo (the OTLP Resource and InstrumentationScope) is in
// spans/span_record.h: a replayed span carries the one it was recorded with.

// How an export request's bytes are encoded; stored with every spooled request
// (the values are on disk: never renumber).
enum class RequestEncoding : uint8_t {
  kProtobuf = 1,  // ExportTraceServiceRequest, binary protobuf (OTLP/HTTP protobuf and OTLP/gRPC)
  kJson = 2,      // the same message in OTLP/JSON (OTLP/HTTP json)
};
const char* to_string(RequestEncoding encoding) noexcept;

// An exporter whose requests are bytes that can wait (OTLP): with a spool the
// batch processor encodes a batch once, sends it, and keeps the bytes on disk
// when sending fails, to send them again later, maybe from another run.
class RequestExporter {
 public:
  virtual RequestEncoding encoding() const noexcept = 0;
  // Uses no exporter state: callable from any thread (the spool writer encodes with it).
  // False when encoding failed (out of memory).
  virtual bool encode(std::span<const SpanRecord* const> spans, std::string& out) const noexcept = 0;
  // Whether a request of `encoding` can be sent with these settings (OTLP/HTTP
  // takes both, with the matching Content-Type; gRPC only protobuf).
  virtual bool can_send(RequestEncoding encoding) const noexcept = 0;
  // Sends encoded bytes (`spans` is for counters and log lines), with retries
  // as configured; `max_attempts` 0 = the retry policy's, 1 = one try.
  virtual ExportResult send(std::string_view request, RequestEncoding encoding, size_t spans,
                            int max_attempts) noexcept = 0;

 protected:
  ~RequestExporter() = default;
};

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  virtual ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept = 0;
  virtual bool force_flush(std::chrono::milliseconds timeout) noexcept = 0;
  virtual void shutdown(std::chrono::milliseconds timeout) noexcept = 0;
  // The same exporter as a RequestExporter, or null when its output cannot be
  // kept as bytes (console, none).
  virtual RequestExporter* requests() noexcept { return nullptr; }
};

}  // namespace bto

namespace bto {
// OTEL_TRACES_EXPORTER=none: accepts and discards (spans still counted).
std::unique_ptr<SpanExporter> create_discard_exporter();
}  // namespace bto
