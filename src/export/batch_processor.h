#pragma once
// Bounded queue of finished spans between the reader thread and the export
// worker(s). When the queue is full the reader either drops the span and
// counts it (on_queue_full=drop: live bpftrace, pipes) or waits for room
// (block: a recorded file, where waiting costs nothing). Workers batch by size
// or delay and call their exporter. With a spool (docs/design.md, "Disk
// spool"), requests the collector cannot take now are kept on disk and sent
// later, oldest first; a spool writer thread moves the queue to disk while
// the collector is down, so the reader itself never waits on the disk.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "export/span_exporter.h"
#include "export/spool.h"
#include "spans/span_pool.h"

namespace bto {

// What the reader does with a finished span when the queue is full.
enum class QueueFullPolicy : uint8_t {
  kAuto,   // resolved at start: block for --input of a regular file, else drop
  kDrop,   // drop and count (dropped_queue_full): the reader never waits
  kBlock,  // wait for room (until a stop sets a deadline)
};

struct BatchOptions {
  QueueFullPolicy on_queue_full = QueueFullPolicy::kAuto;  // --on-queue-full; kAuto acts as kDrop here
  size_t max_queue_size = 65536;      // OTEL_BSP_MAX_QUEUE_SIZE
  size_t max_export_batch_size = 512; // OTEL_BSP_MAX_EXPORT_BATCH_SIZE
  std::chrono::milliseconds schedule_delay{5000};   // OTEL_BSP_SCHEDULE_DELAY; 0: send as soon as queued
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
  std::atomic<uint64_t> dropped_output_failed{0};  // a local output (console, file) refused the write
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
  // on_queue_full=block: how often and how long the reader waited for room.
  std::atomic<uint64_t> queue_full_waits{0};
  std::atomic<uint64_t> queue_full_wait_us_total{0};
  // Spooled requests this configuration cannot send (OTLP/JSON ones with
  // protocol grpc, or an encoding from another version): dropped and counted.
  std::atomic<uint64_t> dropped_spool_incompatible{0};
  SpoolStats spool;  // spool.spans_dropped is dropped{reason="spool_full"}

  uint64_t dropped_total() const noexcept {
    return dropped_queue_full + dropped_permanent_error + dropped_retries_exhausted +
           dropped_shutdown + spool.spans_dropped + dropped_spool_incompatible +
           dropped_output_failed;
  }
};

using ExporterFactory = std::function<std::unique_ptr<SpanExporter>()>;

class BatchProcessor : public SpanSink {
 public:
  // Stops accepting spans, exports what is queued within the deadline, drops
  // (and counts) the rest, shuts the exporters down. With a spool, what is
  // left (queued, or interrupted in flight) is written to the spool instead:
  // the next run sends it. Idempotent.
  virtual void shutdown(std::chrono::milliseconds deadline) = 0;
  // on_queue_full=block: called on the reader thread about every 50 ms while
  // it waits for room, so the app can notice a stop signal (and call limit_waits).
  virtual void set_wait_hook(std::function<void()> hook) = 0;
  // From now on a wait for room ends at `deadline`; a span still without room
  // then is dropped and counted as `shutdown`. Any thread.
  virtual void limit_waits(std::chrono::steady_clock::time_point deadline) = 0;
};

// `spool` (may be null) must outlive the processor; with one, the exporters
// must be RequestExporters (OTLP).
std::unique_ptr<BatchProcessor> create_batch_processor(const BatchOptions& options,
                                                       const ExporterFactory& make_exporter,
                                                       SpanPool& pool, ExportStats& stats,
                                                       Spool* spool = nullptr);

}  // namespace bto
