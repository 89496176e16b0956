#include "telemetry/status_line.h"

#include <gtest/gtest.h>

namespace bto {
namespace {

using namespace std::chrono_literals;
using Time = std::chrono::steady_clock::time_point;

TEST(StatusLine, rates_and_deltas_since_the_previous_line) {
  PipelineStats stats;
  stats.decode.lines.store(1000);  // before the first line: not part of any rate
  const Time t0{};
  StatusLine status(stats, t0);

  stats.decode.lines.store(1000 + 500);
  stats.decode.events.store(400);
  stats.exporter.spans_exported.store(300);
  stats.exporter.queue_depth.store(12);
  stats.spans.open_spans.store(31);
  stats.exporter.dropped_queue_full.store(2);
  stats.exporter.dropped_shutdown.store(1);
  stats.decode.lost_events.store(7);
  stats.decode.malformed_json.store(4);
  stats.exporter.export_failures.store(1);
  stats.source.restarts.store(1);
  EXPECT_EQ(status.next(t0 + 2s),
            "status: lines=250.0/s events=200.0/s exported=150.0/s queue=12 open=31 dropped=+3 lost=+7 "
            "malformed=+4 export_failures=+1 restarts=+1");

  // The next line covers only what happened since.
  stats.decode.lines.store(1500 + 50);
  stats.exporter.dropped_queue_full.store(5);
  stats.exporter.queue_depth.store(0);
  EXPECT_EQ(status.next(t0 + 2s + 500ms),
            "status: lines=100.0/s events=0.0/s exported=0.0/s queue=0 open=31 dropped=+3 lost=+0 "
            "malformed=+0 export_failures=+0 restarts=+0");
}

TEST(StatusLine, no_elapsed_time_gives_zero_rates) {
  PipelineStats stats;
  const Time t0{};
  StatusLine status(stats, t0);
  stats.decode.lines.store(10);
  const std::string line = status.next(t0);
  EXPECT_NE(line.find("lines=0.0/s"), std::string::npos) << line;
}

TEST(StatusLine, malformed_counts_every_rejected_kind) {
  PipelineStats stats;
  const Time t0{};
  StatusLine status(stats, t0);
  stats.decode.malformed_json.store(1);
  stats.decode.not_an_object.store(1);
  stats.decode.missing_event.store(1);
  stats.decode.oversized.store(1);
  stats.decode.wrong_type.store(3);
  stats.decode.wrong_type_fields.store(2);  // field-level: the event was still delivered
  const std::string line = status.next(t0 + 1s);
  EXPECT_NE(line.find("malformed=+5"), std::string::npos) << line;
}

}  // namespace
}  // namespace bto

namespace bto {
namespace {

TEST(StatusLine, shows_the_spool_backlog_only_with_a_spool) {
  PipelineStats stats;
  const std::chrono::steady_clock::time_point t0{};
  StatusLine without(stats, t0);
  EXPECT_EQ(without.next(t0 + std::chrono::seconds(1)).find("spool="), std::string::npos);
  stats.exporter.spool.max_bytes.store(1ull << 30);
  stats.exporter.spool.bytes.store(3u << 20);
  StatusLine with(stats, t0);
  const std::string line = with.next(t0 + std::chrono::seconds(1));
  EXPECT_NE(line.find(" spool=3.0MiB"), std::string::npos) << line;
}

}  // namespace
}  // namespace bto
