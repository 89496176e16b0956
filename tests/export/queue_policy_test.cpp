// The batch processor's two answers to a full queue or a failing collector:
// waiting (on_queue_full=block) and the disk spool. A real BatchProcessor and a
// real DiskSpool in a temporary directory; the exporter below stands in for
// the network: its "request bytes" are the span names, one per line, and it
// records every name the "collector" accepted.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "export/batch_processor.h"
#include "export/spool.h"
#include "support/temp_dir.h"

namespace bto {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Collector {
  std::mutex mutex;
  std::map<std::string, int> received;  // span name -> times accepted
  std::atomic<bool> up{true};
  std::atomic<bool> hold{false};  // every send hangs until shutdown aborts it
  std::atomic<bool> json_only_grpc{false};  // can_send(kJson) false, as with protocol grpc
  std::chrono::milliseconds delay{0};
  std::atomic<uint64_t> attempts{0};
  ExportStats* stats = nullptr;

  size_t distinct() {
    std::lock_guard lock(mutex);
    return received.size();
  }
  int duplicates() {
    std::lock_guard lock(mutex);
    int extra = 0;
    for (const auto& [name, times] : received) extra += times - 1;
    return extra;
  }
};

class LineExporter final : public SpanExporter, public RequestExporter {
 public:
  explicit LineExporter(Collector& collector) : collector_(collector) {}

  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    std::string body;
    encode(spans, body);
    return send(body, RequestEncoding::kProtobuf, spans.size(), 0);
  }
  bool force_flush(std::chrono::milliseconds) noexcept override { return true; }
  void shutdown(std::chrono::milliseconds) noexcept override { aborted_ = true; }
  RequestExporter* requests() noexcept override { return this; }

  RequestEncoding encoding() const noexcept override { return RequestEncoding::kProtobuf; }
  bool encode(std::span<const SpanRecord* const> spans, std::string& out) const noexcept override {
    out.clear();
    for (const SpanRecord* span : spans) out.append(span->name).push_back('\n');
    return true;
  }
  bool can_send(RequestEncoding encoding) const noexcept override {
    return encoding == RequestEncoding::kProtobuf ||
           (encoding == RequestEncoding::kJson && !collector_.json_only_grpc.load());
  }
  ExportResult send(std::string_view request, RequestEncoding, size_t, int) noexcept override {
    ++collector_.attempts;
    if (collector_.delay.count() > 0) std::this_thread::sleep_for(collector_.delay);
    while (collector_.hold.load() && !aborted_) std::this_thread::sleep_for(1ms);
    // What the exporter's sender records, and the processor reads as the collector's state.
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    if (aborted_ || !collector_.up.load()) {
      if (!aborted_) collector_.stats->last_export_failure_unix_ms.store(now);
      return ExportResult::kRetryable;
    }
    collector_.stats->last_export_success_unix_ms.store(now);
    std::lock_guard lock(collector_.mutex);
    size_t start = 0;
    for (size_t end = request.find('\n'); end != std::string_view::npos; end = request.find('\n', start)) {
      ++collector_.received[std::string(request.substr(start, end - start))];
      start = end + 1;
    }
    return ExportResult::kSuccess;
  }

 private:
  Collector& collector_;
  std::atomic<bool> aborted_{false};
};

struct Rig {
  Collector collector;
  SpanPool pool;
  ExportStats stats;
  testing::TempDir tmp{"bto-queue-test"};
  std::unique_ptr<Spool> spool;
  std::unique_ptr<BatchProcessor> processor;

  explicit Rig(BatchOptions options, bool with_spool) {
    collector.stats = &stats;
    if (with_spool) open_spool_again();
    processor = create_batch_processor(
        options, [this] { return std::make_unique<LineExporter>(collector); }, pool, stats, spool.get());
  }
  void open_spool_again() {
    SpoolOptions options;
    options.dir = tmp.path() + "/spool";
    spool = open_spool(options, stats.spool);
  }
  void push(int count, int first = 0) {
    for (int i = 0; i < count; ++i) {
      SpanPtr span = pool.acquire();
      span->name = "span-" + std::to_string(first + i);
      processor->on_span_finished(std::move(span));
    }
  }
  // As a live source delivers: `burst` spans per millisecond (the queue is
  // sized for a read's worth, not for the whole stream at once).
  void push_paced(int count, int burst) {
    for (int i = 0; i < count; i += burst) {
      push(std::min(burst, count - i), i);
      std::this_thread::sleep_for(1ms);
    }
  }
  template <typename Predicate>
  bool eventually(Predicate predicate, std::chrono::milliseconds within = 10s) {
    const auto until = Clock::now() + within;
    while (!predicate()) {
      if (Clock::now() > until) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
};

BatchOptions options(QueueFullPolicy policy, size_t queue = 64) {
  BatchOptions o;
  o.on_queue_full = policy;
  o.max_queue_size = queue;
  o.max_export_batch_size = 8;
  o.schedule_delay = 20ms;
  o.max_concurrent_exports = 2;
  return o;
}

TEST(QueueFullBlock, the_reader_waits_for_a_slow_collector_and_nothing_is_dropped) {
  Rig s(options(QueueFullPolicy::kBlock), false);
  s.collector.delay = 2ms;
  s.push(2000);  // 30x the queue
  s.processor->shutdown(30s);
  EXPECT_EQ(s.collector.distinct(), 2000u);
  EXPECT_EQ(s.stats.dropped_total(), 0u);
  EXPECT_EQ(s.stats.spans_exported, 2000u);
  EXPECT_GT(s.stats.queue_full_waits, 0u);
  EXPECT_GT(s.stats.queue_full_wait_us_total, 0u);
}

TEST(QueueFullBlock, drop_mode_drops_and_counts_instead) {
  Rig s(options(QueueFullPolicy::kDrop), false);
  s.collector.delay = 2ms;
  s.push(2000);
  s.processor->shutdown(30s);
  EXPECT_GT(s.stats.dropped_queue_full, 0u);
  EXPECT_EQ(s.collector.distinct() + s.stats.dropped_queue_full, 2000u);
  EXPECT_EQ(s.stats.queue_full_waits, 0u);
}

TEST(QueueFullBlock, a_stop_ends_the_wait_at_its_deadline_and_counts_the_span) {
  Rig s(options(QueueFullPolicy::kBlock), false);
  s.collector.hold = true;  // nothing leaves the queue
  int hook_calls = 0;
  Clock::time_point stop_at{};
  s.processor->set_wait_hook([&] {
    // What the app does on SIGTERM: a deadline for every wait from now on.
    if (++hook_calls == 3) {
      stop_at = Clock::now();
      s.processor->limit_waits(stop_at + 200ms);
    }
  });
  s.push(200);  // returns once the deadline ends the wait
  const auto waited = Clock::now() - stop_at;
  EXPECT_GE(hook_calls, 3);
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 2s);
  EXPECT_GT(s.stats.dropped_shutdown, 0u);
  s.processor->shutdown(100ms);
}

TEST(Spooling, a_collector_outage_goes_to_disk_and_everything_arrives_once_after_it) {
  Rig s(options(QueueFullPolicy::kDrop, 1024), true);
  s.collector.up = false;
  s.push_paced(20000, 40);  // 20x the queue: without the spool most would be dropped
  ASSERT_TRUE(s.eventually([&] { return s.stats.spool.spans_spooled.load() + s.collector.distinct() >= 20000; }));
  EXPECT_EQ(s.stats.dropped_total(), 0u);
  EXPECT_GT(s.stats.spool.bytes, 0u);
  s.collector.up = true;
  ASSERT_TRUE(s.eventually([&] { return s.collector.distinct() == 20000; }));
  s.processor->shutdown(5s);
  EXPECT_EQ(s.collector.duplicates(), 0);
  EXPECT_EQ(s.stats.spans_exported, 20000u);
  EXPECT_EQ(s.stats.spool.spans_replayed, s.stats.spool.spans_spooled);
  EXPECT_EQ(s.stats.spool.bytes, 0u);
  EXPECT_EQ(s.stats.dropped_total(), 0u);
}

TEST(Spooling, block_mode_with_the_collector_down_reads_on_into_the_spool) {
  Rig s(options(QueueFullPolicy::kBlock), true);
  s.collector.up = false;
  s.push(3000);  // returns: the spool writer makes room while the collector is down
  EXPECT_EQ(s.stats.dropped_total(), 0u);
  s.collector.up = true;
  ASSERT_TRUE(s.eventually([&] { return s.collector.distinct() == 3000; }));
  s.processor->shutdown(5s);
  EXPECT_EQ(s.collector.duplicates(), 0);
  EXPECT_GT(s.stats.spool.spans_spooled, 0u);
  EXPECT_EQ(s.stats.spool.bytes, 0u);
}

TEST(Spooling, a_healthy_collector_never_touches_the_disk) {
  Rig s(options(QueueFullPolicy::kDrop, 4096), true);
  s.push_paced(20000, 20);
  s.processor->shutdown(5s);
  EXPECT_EQ(s.collector.distinct(), 20000u);
  EXPECT_EQ(s.stats.spool.requests_spooled, 0u);
}

TEST(Spooling, shutdown_with_the_collector_down_keeps_everything_for_the_next_run) {
  std::unique_ptr<Rig> first = std::make_unique<Rig>(options(QueueFullPolicy::kDrop, 1024), true);
  first->collector.up = false;
  first->push(1000);  // fits: shutdown finds it in the queue
  const auto started = Clock::now();
  first->processor->shutdown(300ms);
  EXPECT_LT(Clock::now() - started, 3s);
  EXPECT_EQ(first->stats.dropped_total(), 0u);
  EXPECT_EQ(first->stats.spool.spans_spooled + first->collector.distinct(), 1000u);
  // The next run, same directory: what was left is sent first.
  const std::string dir = first->tmp.path();
  first->processor.reset();
  first->spool->close();
  Collector next;
  ExportStats stats;
  next.stats = &stats;
  SpanPool pool;
  SpoolOptions spool_options;
  spool_options.dir = dir + "/spool";
  auto spool = open_spool(spool_options, stats.spool);
  auto processor = create_batch_processor(
      options(QueueFullPolicy::kDrop), [&] { return std::make_unique<LineExporter>(next); }, pool, stats,
      spool.get());
  const auto until = Clock::now() + 10s;
  while (next.distinct() + first->collector.distinct() < 1000 && Clock::now() < until) std::this_thread::sleep_for(5ms);
  processor->shutdown(5s);
  EXPECT_EQ(next.distinct() + first->collector.distinct(), 1000u);
  EXPECT_EQ(stats.spool.bytes, 0u);
}

TEST(Spooling, a_spooled_request_this_protocol_cannot_send_is_dropped_and_counted) {
  Rig s(options(QueueFullPolicy::kDrop), true);
  s.collector.json_only_grpc = true;
  s.spool->append(RequestEncoding::kJson, 17, "json-span\n");
  s.spool->append(RequestEncoding::kProtobuf, 1, "proto-span\n");
  ASSERT_TRUE(s.eventually([&] { return s.collector.distinct() == 1; }));
  s.processor->shutdown(5s);
  EXPECT_EQ(s.stats.dropped_spool_incompatible, 17u);
  EXPECT_EQ(s.stats.spool.bytes, 0u);
}

TEST(Spooling, a_spooled_json_request_is_sent_as_json_when_the_transport_can) {
  Rig s(options(QueueFullPolicy::kDrop), true);
  s.spool->append(RequestEncoding::kJson, 1, "json-span\n");
  ASSERT_TRUE(s.eventually([&] { return s.collector.distinct() == 1; }));
  s.processor->shutdown(5s);
  EXPECT_EQ(s.stats.dropped_spool_incompatible, 0u);
  EXPECT_EQ(s.stats.spool.requests_replayed, 1u);
}

}  // namespace
}  // namespace bto
