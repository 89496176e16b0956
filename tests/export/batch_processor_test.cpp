#include "export/batch_processor.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace bto {
namespace {

using namespace std::chrono_literals;

// A real exporter implementation used as the processor's downstream: it
// records what it receives and can hold a batch until released.
struct ExporterControl {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> received;  // span names
  size_t batches = 0;
  size_t in_export = 0;
  bool hold = false;
  bool shut_down = false;
  ExportResult result = ExportResult::kSuccess;

  void wait_for_in_export(size_t n) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 5s, [&] { return in_export >= n; });
  }
  void release() {
    std::lock_guard lock(mutex);
    hold = false;
    changed.notify_all();
  }
};

class RecordingExporter final : public SpanExporter {
 public:
  explicit RecordingExporter(ExporterControl& control) : control_(control) {}
  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    std::unique_lock lock(control_.mutex);
    ++control_.in_export;
    control_.changed.notify_all();
    control_.changed.wait(lock, [&] { return !control_.hold || control_.shut_down; });
    --control_.in_export;
    if (control_.shut_down && control_.hold) return ExportResult::kRetryable;
    ++control_.batches;
    for (const SpanRecord* span : spans) control_.received.push_back(span->name);
    return control_.result;
  }
  bool force_flush(std::chrono::milliseconds) noexcept override { return true; }
  void shutdown(std::chrono::milliseconds) noexcept override {
    std::lock_guard lock(control_.mutex);
    control_.shut_down = true;
    control_.changed.notify_all();
  }

 private:
  ExporterControl& control_;
};

struct Harness {
  ExporterControl control;
  SpanPool pool;
  ExportStats stats;
  std::unique_ptr<BatchProcessor> processor;

  explicit Harness(BatchOptions options) {
    processor = create_batch_processor(
        options, [this] { return std::make_unique<RecordingExporter>(control); }, pool, stats);
  }
  void push(int count, int first = 0) {
    for (int i = 0; i < count; ++i) {
      SpanPtr span = pool.acquire();
      span->name = "span-" + std::to_string(first + i);
      processor->on_span_finished(std::move(span));
    }
  }
};

BatchOptions small_options() {
  BatchOptions options;
  options.max_queue_size = 10;
  options.max_export_batch_size = 5;
  options.schedule_delay = 10s;
  options.max_concurrent_exports = 1;
  return options;
}

TEST(BatchProcessor, exports_every_span_in_order_in_full_batches) {
  BatchOptions options = small_options();
  options.max_queue_size = 1000;
  options.max_export_batch_size = 100;
  Harness h(options);
  h.push(1000);
  h.processor->shutdown(5s);
  ASSERT_EQ(h.control.received.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(h.control.received[i], "span-" + std::to_string(i));
  EXPECT_EQ(h.stats.spans_exported, 1000u);
  EXPECT_EQ(h.stats.dropped_total(), 0u);
  EXPECT_EQ(h.stats.queue_depth, 0u);
}

TEST(BatchProcessor, schedule_delay_sends_a_partial_batch) {
  BatchOptions options = small_options();
  options.schedule_delay = 50ms;
  Harness h(options);
  h.push(2);
  for (int i = 0; i < 200 && h.stats.spans_exported < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(h.stats.spans_exported, 2u);
  h.processor->shutdown(1s);
}

TEST(BatchProcessor, full_queue_drops_new_spans_and_counts_them_exactly) {
  Harness h(small_options());
  h.control.hold = true;
  h.push(5);  // one full batch: the worker takes it and is held in export
  h.control.wait_for_in_export(1);
  h.push(20, 5);  // 10 fit in the queue, 10 are dropped
  EXPECT_EQ(h.stats.dropped_queue_full, 10u);
  EXPECT_EQ(h.stats.queue_depth, 10u);
  h.control.release();
  h.processor->shutdown(5s);
  EXPECT_EQ(h.stats.spans_exported, 15u);
  EXPECT_EQ(h.control.received.size(), 15u);
  EXPECT_EQ(h.stats.dropped_total(), 10u);
  EXPECT_EQ(h.stats.spans_enqueued, 15u);
}

// Issue 17.1 (memory: one budget in bytes): queued spans, and those in a batch
// being exported, hold at most half of --max-memory; beyond it a finished
// span is dropped like one that finds the queue full, and the pool refunds
// every byte when the records come back.
TEST(BatchProcessor, memory_one_budget_in_bytes_bounds_the_queue) {
  MemoryBudget budget(4 << 20);  // queued spans: 2 MiB
  ExporterControl control;
  control.hold = true;
  SpanPool pool(1024, &budget);
  ExportStats stats;
  BatchOptions options = small_options();
  options.max_queue_size = 1000;
  options.max_export_batch_size = 10;
  auto processor =
      create_batch_processor(options, [&] { return std::make_unique<RecordingExporter>(control); }, pool, stats);
  const std::string error(4000, 'e');
  for (int i = 0; i < 600; ++i) {
    SpanPtr span = pool.acquire();
    span->name = "span-" + std::to_string(i);
    for (int k = 0; k < 120; ++k) span->attributes.set_string("k" + std::to_string(k), error);
    processor->on_span_finished(std::move(span));
    EXPECT_LE(budget.queued_bytes(), budget.limit() / 2);
  }
  // About 490 KB a span: 4 fit in 2 MiB, the rest counted as queue_full.
  EXPECT_GE(stats.dropped_queue_full, 590u);
  EXPECT_EQ(stats.dropped_queue_full + stats.spans_enqueued, 600u);
  control.release();
  processor->shutdown(5s);
  EXPECT_EQ(stats.spans_exported, stats.spans_enqueued);
  EXPECT_EQ(budget.queued_bytes(), 0u);  // every charge refunded
}

TEST(BatchProcessor, shutdown_deadline_interrupts_export_and_counts_the_rest) {
  Harness h(small_options());
  h.control.hold = true;  // the exporter never finishes on its own (a retry loop)
  h.push(5);
  h.control.wait_for_in_export(1);
  h.push(3, 5);
  const auto started = std::chrono::steady_clock::now();
  h.processor->shutdown(200ms);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(h.stats.spans_exported, 0u);
  EXPECT_EQ(h.stats.dropped_shutdown, 8u);
}

TEST(BatchProcessor, permanent_and_retryable_failures_are_counted_by_reason) {
  {
    Harness h(small_options());
    h.control.result = ExportResult::kPermanent;
    h.push(7);
    h.processor->shutdown(5s);
    EXPECT_EQ(h.stats.dropped_permanent_error, 7u);
    EXPECT_EQ(h.stats.spans_exported, 0u);
  }
  {
    Harness h(small_options());
    h.control.result = ExportResult::kRetryable;
    h.push(7);
    h.processor->shutdown(5s);
    EXPECT_EQ(h.stats.dropped_retries_exhausted, 7u);
  }
}

TEST(BatchProcessor, spans_after_shutdown_are_dropped_and_counted) {
  Harness h(small_options());
  h.processor->shutdown(1s);
  h.push(3);
  EXPECT_EQ(h.stats.dropped_queue_full, 3u);
}

TEST(BatchProcessor, several_workers_export_concurrently) {
  BatchOptions options = small_options();
  options.max_concurrent_exports = 2;
  options.max_queue_size = 100;
  Harness h(options);
  h.control.hold = true;
  h.push(10);  // two full batches
  h.control.wait_for_in_export(2);
  {
    std::lock_guard lock(h.control.mutex);
    EXPECT_EQ(h.control.in_export, 2u);
  }
  h.control.release();
  h.processor->shutdown(5s);
  EXPECT_EQ(h.stats.spans_exported, 10u);
}

}  // namespace
}  // namespace bto
