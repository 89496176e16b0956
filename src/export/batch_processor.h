#pragma once
// Bounded queue of finished spans between the reader thread and the export
// worker(s). The reader never blocks: when the queue is full the span is
// dropped and counted. Workers batch by size or delay and call their exporter.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "export/span_exporter.h"
#include "spans/span_pool.h"

namespace bto {

struct BatchOptions {
  size_t max_queue_size = 65536;      // OTEL_BSP_MAX_QUEUE_SIZE
  size_t max_export_batch_size = 512; // OTEL_BSP_MAX_EXPORT_BATCH_SIZE
  std::chrono::milliseconds schedule_delay{5000};   // OTEL_BSP_SCHEDULE_DELAY
  std::chrono::milliseconds export_timeout{30000};  // OTEL_BSP_EXPORT_TIMEOUT
  std::chrono::milliseconds shutdown_timeout{10000};
  size_t max_concurrent_exports = 2;  // workers, each with its own exporter
};

struct ExportStats {
  std::atomic<uint64_t> spans_enqueued{0};
  std::atomic<uint64_t> spans_exported{0};  // in requests the collector accepted
  std::atomic<uint64_t> dropped_queue_full{0};
  std::atomic<uint64_t> dropped_permanent_error{0};  // rejected by the backend (4xx)
  std::atomic<uint64_t> dropped_retries_exhausted{0};
  std::atomic<uint64_t> dropped_shutdown{0};  // still queued when the shutdown deadline passed
  // Spans inside exported requests that the collector then rejected
  // (partial_success.rejected_spans): part of spans_exported, not of dropped_total().
  std::atomic<uint64_t> dropped_partial_success{0};
  std::atomic<uint64_t> export_requests{0};
  std::atomic<uint64_t> export_retries{0};
  std::atomic<uint64_t> export_failures{0};
  std::atomic<uint64_t> export_latency_us_total{0};
  std::atomic<uint64_t> queue_depth{0};  // gauge
  // [telemetry] Wall-clock time (Unix ms) of the last export attempt that got a
  // success / a failure (transport error or non-2xx); 0: none yet. /readyz compares them.
  std::atomic<int64_t> last_export_success_unix_ms{0};
  std::atomic<int64_t> last_export_failure_unix_ms{0};

  uint64_t dropped_total() const noexcept {
    return dropped_queue_full + dropped_permanent_error + dropped_retries_exhausted +
           dropped_shutdown;
  }
};

using ExporterFactory = std::function<std::unique_ptr<SpanExporter>()>;

class BatchProcessor : public SpanSink {
 public:
  // Stops accepting spans, exports what is queued within the deadline, drops
  // (and counts) the rest, shuts the exporters down. Idempotent.
  virtual void shutdown(std::chrono::milliseconds deadline) = 0;
};

std::unique_ptr<BatchProcessor> create_batch_processor(const BatchOptions& options,
                                                       const ExporterFactory& make_exporter,
                                                       SpanPool& pool, ExportStats& stats);

}  // namespace bto
