#include "export/batch_processor.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How often a reader waiting for room runs the wait hook (stop signals).
constexpr milliseconds kWaitSlice{50};
// How often the spool writer looks at the queue and the collector's state.
constexpr milliseconds kSpillPoll{50};
// After a spooled request failed (its retries included), the workers leave the
// spool alone this long before the next try; the spool writer keeps the queue short meanwhile.
constexpr milliseconds kReplayPause{1000};

// Fixed-capacity FIFO of spans; the capacity is the memory bound of the queue.
class SpanRing {
 public:
  explicit SpanRing(size_t capacity) : slots_(std::max<size_t>(capacity, 1)) {}
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return slots_.size(); }
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

// One worker's reusable buffers.
struct WorkerBuffers {
  std::vector<SpanPtr> batch;
  std::vector<const SpanRecord*> views;
  std::string body;
  SpooledRequest spooled;
};

class QueuedBatchProcessor final : public BatchProcessor {
 public:
  QueuedBatchProcessor(const BatchOptions& options, const ExporterFactory& make_exporter, SpanPool& pool,
                       ExportStats& stats, Spool* spool)
      : options_(options), pool_(pool), budget_(pool.budget()), stats_(stats), spool_(spool),
        queue_(options.max_queue_size),
        block_(options.on_queue_full == QueueFullPolicy::kBlock),
        // Half the queue: a burst still fits while the spool writer catches up.
        high_water_(std::max<size_t>(queue_.capacity() / 2, 1)) {
    const size_t workers = std::max<size_t>(options.max_concurrent_exports, 1);
    for (size_t i = 0; i < workers; ++i) exporters_.push_back(make_exporter());
    if (spool_ != nullptr && exporters_[0]->requests() == nullptr) spool_ = nullptr;  // console, none: nothing to keep
    for (size_t i = 0; i < workers; ++i) {
      workers_.emplace_back([this, i] { run_worker(*exporters_[i]); });
    }
    if (spool_ != nullptr) spiller_ = std::thread([this] { run_spiller(); });
  }

  ~QueuedBatchProcessor() override { shutdown(options_.shutdown_timeout); }

  void on_span_finished(SpanPtr span) override {
    bool wake = false, spill = false;
    // Charged from here until the pool takes the record back (exported,
    // encoded into a request, spooled or dropped).
    const size_t bytes = budget_ != nullptr ? span_record_bytes(*span) : 0;
    {
      std::unique_lock lock(mutex_);
      const bool room = !full(bytes) || stopping_ || !block_ || wait_for_room(lock, bytes);
      if (stopping_ || full(bytes)) {
        if (!room) {  // the stop deadline ended the wait
          ++stats_.dropped_shutdown;
        } else {
          ++stats_.dropped_queue_full;
          queue_full_log_.warn(
              "export queue full ({} spans, OTEL_BSP_MAX_QUEUE_SIZE; {} bytes, half of max_memory): dropped span "
              "'{}'; {} dropped so far",
              queue_.size(), budget_ != nullptr ? budget_->queued_bytes() : 0, quote_bytes(span->name, 64),
              stats_.dropped_queue_full.load());
        }
        pool_.release(std::move(span));
        return;
      }
      if (budget_ != nullptr) {
        span->charged_bytes = static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX));
        budget_->charge_queued(span->charged_bytes);
      }
      queue_.push(std::move(span));
      ++stats_.spans_enqueued;
      stats_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
      // Once per full batch: idle workers (the collector down, the spool writer
      // busy) must not wake for every span.
      wake = queue_.size() % options_.max_export_batch_size == 0 || (no_delay_ && queue_.size() == 1);
      spill = spool_ != nullptr && queue_.size() == high_water_;
    }
    if (wake) ready_.notify_one();
    if (spill) spill_wake_.notify_one();
  }

  void set_wait_hook(std::function<void()> hook) override {
    std::lock_guard lock(mutex_);
    wait_hook_ = std::move(hook);
  }

  void limit_waits(Clock::time_point deadline) override {
    {
      std::lock_guard lock(mutex_);
      wait_deadline_ = std::min(wait_deadline_, deadline);
    }
    room_.notify_all();
  }

  void shutdown(milliseconds deadline) override {
    {
      std::lock_guard lock(mutex_);
      if (shut_down_) return;
      shut_down_ = true;
      stopping_ = true;
      deadline_ = Clock::now() + deadline;
    }
    ready_.notify_all();
    room_.notify_all();
    spill_wake_.notify_all();
    if (spool_ != nullptr && !collector_up()) {
      // Nothing is lost by stopping the retries now: what they carry goes to
      // the spool (or stays there) for the next run.
      abort_exports();
    }
    // Workers drain until the queue is empty or the deadline passes; then an
    // export still retrying is interrupted through its exporter.
    {
      std::unique_lock lock(mutex_);
      drained_.wait_until(lock, deadline_, [this] { return active_workers_ == 0; });
    }
    // What is left of the deadline: an exporter holding spans (the console's
    // tree view) prints them; one still busy is interrupted.
    const auto left = std::max(std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now()), milliseconds(0));
    abort_exports(active_workers_snapshot() == 0 ? left : milliseconds(0));
    for (auto& worker : workers_) worker.join();
    if (spiller_.joinable()) {
      {
        std::lock_guard lock(mutex_);
        spiller_exit_ = true;
      }
      spill_wake_.notify_all();
      spiller_.join();
    }
    std::vector<SpanPtr> rest;
    {
      std::lock_guard lock(mutex_);
      while (queue_.size() > 0) rest.push_back(queue_.pop());
      stats_.queue_depth.store(0, std::memory_order_relaxed);
    }
    if (spool_ != nullptr) {
      spill_all(rest);  // kept for the next run instead of dropped
    } else {
      stats_.dropped_shutdown += rest.size();
      pool_.release(std::span<SpanPtr>(rest));
    }
  }

 private:
  enum class Job { kBatch, kReplay, kExit };

  void abort_exports(milliseconds grace = milliseconds(0)) {
    if (aborted_.exchange(true)) return;
    for (auto& exporter : exporters_) exporter->shutdown(grace);
  }

  // Reader thread, queue full, block mode. False when the wait deadline ended it.
  // No room for a span of `bytes`: the queue is full, in spans or in bytes
  // (half the memory budget; records in a batch being exported still count).
  bool full(size_t bytes) const noexcept {
    return queue_.full() || (budget_ != nullptr && !budget_->queue_admits(bytes));
  }

  bool wait_for_room(std::unique_lock<std::mutex>& lock, size_t bytes) {
    const auto start = Clock::now();
    ++stats_.queue_full_waits;
    bool room = true;
    while (full(bytes) && !stopping_) {
      const auto now = Clock::now();
      if (now >= wait_deadline_) {
        room = false;
        break;
      }
      room_.wait_until(lock, std::min(now + kWaitSlice, wait_deadline_));
      if (full(bytes) && wait_hook_) {
        const auto hook = wait_hook_;
        lock.unlock();
        hook();
        lock.lock();
      }
    }
    stats_.queue_full_wait_us_total +=
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
    return room;
  }

  // Last export attempt succeeded, or none failed yet.
  bool collector_up() const noexcept {
    return stats_.last_export_failure_unix_ms.load(std::memory_order_relaxed) <=
           stats_.last_export_success_unix_ms.load(std::memory_order_relaxed);
  }

  void take(std::vector<SpanPtr>& batch, size_t n) {
    for (size_t i = 0; i < n; ++i) batch.push_back(queue_.pop());
    stats_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
    if (block_) room_.notify_one();
    if (stopping_ && queue_.size() == 0) ready_.notify_all();  // workers waiting for the end may leave
  }

  // What a worker does next: a batch from the queue, a request from the spool
  // (oldest first, before the queue), or stop. Waits for a full batch, the
  // schedule delay, the end of a replay pause, or shutdown.
  Job next_job(std::vector<SpanPtr>& batch, bool can_replay) {
    std::unique_lock lock(mutex_);
    auto batch_due = Clock::now() + options_.schedule_delay;
    for (;;) {
      const auto now = Clock::now();
      if (stopping_ && now >= deadline_) return Job::kExit;
      const bool spooled = can_replay && spool_->has_pending();
      // Shutting down, the spool is tried only while the collector answers:
      // with it down the backlog waits for the next run.
      const bool replays = spooled && replay_not_before_ != Clock::time_point::max() && (!stopping_ || collector_up());
      if (replays && now >= replay_not_before_) return Job::kReplay;
      // While the collector is down the spool writer moves the queue to disk;
      // a worker then only probes with spooled requests (when there are any).
      const bool queue_is_ours = !can_replay || !spooled || collector_up();
      const size_t n = queue_.size();
      if (queue_is_ours && n > 0 && (n >= options_.max_export_batch_size || stopping_ || now >= batch_due || no_delay_)) {
        take(batch, std::min(n, options_.max_export_batch_size));
        return Job::kBatch;
      }
      if (stopping_ && n == 0 && !replays) return Job::kExit;
      // schedule_delay 0: nothing is due until a span arrives (on_span_finished wakes us).
      if (now >= batch_due) batch_due = no_delay_ ? Clock::time_point::max() : now + options_.schedule_delay;
      auto until = stopping_ ? std::min(deadline_, batch_due) : batch_due;
      if (replays) until = std::min(until, replay_not_before_);
      if (until == Clock::time_point::max()) {
        ready_.wait(lock);
      } else {
        ready_.wait_until(lock, until);
      }
    }
  }

  size_t active_workers_snapshot() {
    std::lock_guard lock(mutex_);
    return active_workers_;
  }

  void run_worker(SpanExporter& exporter) {
    RequestExporter* requests = spool_ != nullptr ? exporter.requests() : nullptr;
    WorkerBuffers buffers;
    buffers.batch.reserve(options_.max_export_batch_size);
    buffers.views.reserve(options_.max_export_batch_size);
    for (;;) {
      const Job job = next_job(buffers.batch, requests != nullptr);
      if (job == Job::kExit) break;
      if (job == Job::kReplay) {
        replay_one(*requests, buffers.spooled);
        continue;
      }
      if (buffers.batch.empty()) continue;
      buffers.views.clear();
      for (const SpanPtr& span : buffers.batch) buffers.views.push_back(span.get());
      const size_t count = buffers.batch.size();
      if (requests != nullptr) {
        const bool encoded = requests->encode(buffers.views, buffers.body);
        pool_.release(std::span<SpanPtr>(buffers.batch));  // the bytes are all that is needed now
        buffers.batch.clear();
        if (encoded) {
          export_or_spool(*requests, buffers.body, count);
        } else {
          ++stats_.export_failures;
          stats_.dropped_permanent_error += count;
        }
        continue;
      }
      account(exporter.export_batch(buffers.views), count);
      pool_.release(std::span<SpanPtr>(buffers.batch));
      buffers.batch.clear();
    }
    std::lock_guard lock(mutex_);
    if (--active_workers_ == 0) drained_.notify_all();
  }

  // A fresh batch with a spool behind: one attempt; on failure the spool
  // keeps it and the retries come from there.
  void export_or_spool(RequestExporter& requests, const std::string& body, size_t count) {
    const ExportResult result = requests.send(body, requests.encoding(), count, 1);
    if (result == ExportResult::kRetryable) {
      spool_->append(requests.encoding(), static_cast<uint32_t>(count), body);
      notify_spooled();
      return;
    }
    account(result, count);
  }

  void replay_one(RequestExporter& requests, SpooledRequest& request) {
    if (!spool_->claim(request)) return;
    const auto encoding = static_cast<RequestEncoding>(request.encoding);
    if (!requests.can_send(encoding)) {
      spool_->settle(request, false);
      stats_.dropped_spool_incompatible += request.spans;
      incompatible_log_.error(
          "spool: a request of {} spans was written as OTLP/{} (encoding {}), which this configuration cannot "
          "send (OTLP/JSON cannot go over gRPC); dropped. Run once with --protocol http/json to send such requests",
          request.spans, request.encoding == static_cast<uint8_t>(RequestEncoding::kJson) ? "JSON" : "?",
          request.encoding);
      return;
    }
    const ExportResult result = requests.send(request.body, encoding, request.spans, 0);
    switch (result) {
      case ExportResult::kSuccess:
        spool_->settle(request, true);
        stats_.spans_exported += request.spans;
        return;
      case ExportResult::kPermanent:
      case ExportResult::kOutputFailed:  // not an OTLP result; never kept for a retry
        spool_->settle(request, false);
        stats_.dropped_permanent_error += request.spans;
        return;
      case ExportResult::kRetryable:
        break;
    }
    spool_->give_back(request);
    std::lock_guard lock(mutex_);
    // During shutdown one failure ends the replays: the rest waits for the next run.
    replay_not_before_ = stopping_ ? Clock::time_point::max() : Clock::now() + kReplayPause;
  }

  void notify_spooled() {
    { std::lock_guard lock(mutex_); }  // a worker between its check and its wait sees the new record
    ready_.notify_all();
  }

  // The spool writer: while the collector is down, or (on_queue_full=drop) a
  // backlog is on disk or the queue is half full, batches go from the queue to
  // the spool, so the reader finds room without ever touching the disk.
  void run_spiller() {
    RequestExporter& encoder = *exporters_[0]->requests();  // encode() uses no exporter state
    std::vector<SpanPtr> batch;
    std::vector<const SpanRecord*> views;
    std::string body;
    while (take_spill_batch(batch)) {
      views.clear();
      for (const SpanPtr& span : batch) views.push_back(span.get());
      spill(encoder, views, body);
      pool_.release(std::span<SpanPtr>(batch));
      batch.clear();
    }
  }

  void spill(RequestExporter& encoder, std::span<const SpanRecord* const> views, std::string& body) {
    if (!encoder.encode(views, body)) {
      ++stats_.export_failures;
      stats_.dropped_permanent_error += views.size();
      return;
    }
    spool_->append(encoder.encoding(), static_cast<uint32_t>(views.size()), body);
    notify_spooled();
  }

  bool take_spill_batch(std::vector<SpanPtr>& batch) {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (spiller_exit_) return false;
      const auto now = Clock::now();
      const size_t n = queue_.size();
      bool go = false;
      if (stopping_) {
        // Shutting down: what the collector cannot take now goes to disk at once.
        go = n > 0 && (now >= deadline_ || !collector_up());
      } else if (n > 0) {
        const bool batch_ready = n >= options_.max_export_batch_size || now - last_spill_ >= options_.schedule_delay;
        if (block_) {
          // The reader may wait for a slow collector; only a down one sends the queue to disk.
          go = batch_ready && !collector_up();
        } else {
          go = n >= high_water_ || (batch_ready && (!collector_up() || spool_->has_pending()));
        }
      }
      if (go) {
        take(batch, std::min(n, options_.max_export_batch_size));
        last_spill_ = now;
        return true;
      }
      spill_wake_.wait_for(lock, kSpillPoll);
    }
  }

  // Shutdown, after the workers and the spool writer stopped: the rest of the queue to disk.
  void spill_all(std::vector<SpanPtr>& rest) {
    RequestExporter& encoder = *exporters_[0]->requests();
    std::vector<const SpanRecord*> views;
    std::string body;
    for (size_t at = 0; at < rest.size(); at += options_.max_export_batch_size) {
      const size_t n = std::min(options_.max_export_batch_size, rest.size() - at);
      views.clear();
      for (size_t i = 0; i < n; ++i) views.push_back(rest[at + i].get());
      spill(encoder, views, body);
    }
    pool_.release(std::span<SpanPtr>(rest));
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
      case ExportResult::kOutputFailed:
        stats_.dropped_output_failed += count;
        break;
    }
  }

  BatchOptions options_;
  SpanPool& pool_;
  MemoryBudget* budget_;  // null: spans only
  ExportStats& stats_;
  Spool* spool_;
  std::mutex mutex_;
  std::condition_variable ready_;       // workers: a batch, a spooled request, or shutdown
  std::condition_variable drained_;     // shutdown: the last worker left
  std::condition_variable room_;        // the reader (block mode): room in the queue
  std::condition_variable spill_wake_;  // the spool writer
  SpanRing queue_;
  const bool block_;
  const size_t high_water_;
  bool stopping_ = false;
  bool shut_down_ = false;
  bool spiller_exit_ = false;
  std::atomic<bool> aborted_{false};
  Clock::time_point deadline_{};
  Clock::time_point wait_deadline_ = Clock::time_point::max();
  Clock::time_point replay_not_before_{};
  Clock::time_point last_spill_{};
  std::function<void()> wait_hook_;
  std::vector<std::unique_ptr<SpanExporter>> exporters_;
  std::vector<std::thread> workers_;
  std::thread spiller_;
  size_t active_workers_ = std::max<size_t>(options_.max_concurrent_exports, 1);
  // OTEL_BSP_SCHEDULE_DELAY=0: a span is sent as soon as it is queued, and an
  // idle worker sleeps until one is (issue 17.6: it used to spin).
  const bool no_delay_ = options_.schedule_delay.count() == 0;
  RateLimitedLog queue_full_log_;
  RateLimitedLog incompatible_log_;
};

}  // namespace

std::unique_ptr<BatchProcessor> create_batch_processor(const BatchOptions& options,
                                                       const ExporterFactory& make_exporter,
                                                       SpanPool& pool, ExportStats& stats, Spool* spool) {
  return std::make_unique<QueuedBatchProcessor>(options, make_exporter, pool, stats, spool);
}

}  // namespace bto
