#include "export/batch_processor.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"

namespace bto {
namespace {

// Fixed-capacity FIFO of spans; the capacity is the memory bound of the queue.
class SpanRing {
 public:
  explicit SpanRing(size_t capacity) : slots_(std::max<size_t>(capacity, 1)) {}
  size_t size() const noexcept { return size_; }
  bool full() const noexcept { return size_ == slots_.size(); }
  void push(SpanPtr span) noexcept {
    slots_[(head_ + size_) % slots_.size()] = std::move(span);
    ++size_;
  }
  SpanPtr pop() noexcept {
    SpanPtr span = std::move(slots_[head_]);
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return span;
  }

 private:
  std::vector<SpanPtr> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

class QueuedBatchProcessor final : public BatchProcessor {
 public:
  QueuedBatchProcessor(const BatchOptions& options, const ExporterFactory& make_exporter,
                       SpanPool& pool, ExportStats& stats)
      : options_(options), pool_(pool), stats_(stats), queue_(options.max_queue_size) {
    const size_t workers = std::max<size_t>(options.max_concurrent_exports, 1);
    for (size_t i = 0; i < workers; ++i) exporters_.push_back(make_exporter());
    for (size_t i = 0; i < workers; ++i) {
      workers_.emplace_back([this, i] { run_worker(*exporters_[i]); });
    }
  }

  ~QueuedBatchProcessor() override { shutdown(options_.shutdown_timeout); }

  void on_span_finished(SpanPtr span) override {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.full()) {
        ++stats_.dropped_queue_full;
        queue_full_log_.warn(
            "export queue full ({} spans, OTEL_BSP_MAX_QUEUE_SIZE): dropped span '{}'; "
            "{} dropped so far",
            queue_.size(), quote_bytes(span->name, 64), stats_.dropped_queue_full.load());
        pool_.release(std::move(span));
        return;
      }
      queue_.push(std::move(span));
      ++stats_.spans_enqueued;
      stats_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
      wake = queue_.size() >= options_.max_export_batch_size;
    }
    if (wake) ready_.notify_one();
  }

  void shutdown(std::chrono::milliseconds deadline) override {
    {
      std::lock_guard lock(mutex_);
      if (shut_down_) return;
      shut_down_ = true;
      stopping_ = true;
      deadline_ = std::chrono::steady_clock::now() + deadline;
    }
    ready_.notify_all();
    // Workers drain until the queue is empty or the deadline passes; then an
    // export still retrying is interrupted through its exporter.
    {
      std::unique_lock lock(mutex_);
      drained_.wait_until(lock, deadline_, [this] { return active_workers_ == 0; });
    }
    aborted_.store(true);
    for (auto& exporter : exporters_) {
      exporter->shutdown(std::chrono::milliseconds(0));
    }
    for (auto& worker : workers_) worker.join();
    std::lock_guard lock(mutex_);
    while (queue_.size() > 0) {
      ++stats_.dropped_shutdown;
      pool_.release(queue_.pop());
    }
    stats_.queue_depth.store(0, std::memory_order_relaxed);
  }

 private:
  // Takes up to one batch; waits for a full batch, the schedule delay, or shutdown.
  bool take_batch(std::vector<SpanPtr>& batch) {
    std::unique_lock lock(mutex_);
    const auto wake_at = std::chrono::steady_clock::now() + options_.schedule_delay;
    ready_.wait_until(lock, wake_at, [this] {
      return stopping_ || queue_.size() >= options_.max_export_batch_size;
    });
    if (stopping_ && (queue_.size() == 0 || std::chrono::steady_clock::now() >= deadline_)) {
      return false;
    }
    const size_t n = std::min(queue_.size(), options_.max_export_batch_size);
    for (size_t i = 0; i < n; ++i) batch.push_back(queue_.pop());
    stats_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
    return true;
  }

  void run_worker(SpanExporter& exporter) {
    std::vector<SpanPtr> batch;
    std::vector<const SpanRecord*> views;
    batch.reserve(options_.max_export_batch_size);
    views.reserve(options_.max_export_batch_size);
    while (take_batch(batch)) {
      if (batch.empty()) continue;
      views.clear();
      for (const SpanPtr& span : batch) views.push_back(span.get());
      account(exporter.export_batch(views), batch.size());
      pool_.release(std::span<SpanPtr>(batch));
      batch.clear();
    }
    std::lock_guard lock(mutex_);
    if (--active_workers_ == 0) drained_.notify_all();
  }

  void account(ExportResult result, size_t count) {
    if (result != ExportResult::kSuccess && aborted_.load()) {
      stats_.dropped_shutdown += count;  // interrupted by the shutdown deadline
      return;
    }
    switch (result) {
      case ExportResult::kSuccess:
        stats_.spans_exported += count;
        break;
      case ExportResult::kPermanent:
        stats_.dropped_permanent_error += count;
        break;
      case ExportResult::kRetryable:
        stats_.dropped_retries_exhausted += count;
        break;
    }
  }

  BatchOptions options_;
  SpanPool& pool_;
  ExportStats& stats_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable drained_;
  SpanRing queue_;
  bool stopping_ = false;
  bool shut_down_ = false;
  std::atomic<bool> aborted_{false};
  std::chrono::steady_clock::time_point deadline_{};
  std::vector<std::unique_ptr<SpanExporter>> exporters_;
  std::vector<std::thread> workers_;
  size_t active_workers_ = std::max<size_t>(options_.max_concurrent_exports, 1);
  RateLimitedLog queue_full_log_;
};

}  // namespace

std::unique_ptr<BatchProcessor> create_batch_processor(const BatchOptions& options,
                                                       const ExporterFactory& make_exporter,
                                                       SpanPool& pool, ExportStats& stats) {
  return std::make_unique<QueuedBatchProcessor>(options, make_exporter, pool, stats);
}

}  // namespace bto
