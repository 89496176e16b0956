#include "telemetry/status_line.h"

#include <fmt/format.h>

namespace bto {

StatusLine::StatusLine(const PipelineStats& stats, std::chrono::steady_clock::time_point now)
    : stats_(stats), last_(take()), last_time_(now) {}

StatusLine::Snapshot StatusLine::take() const {
  Snapshot s;
  s.lines = stats_.decode.lines.load(std::memory_order_relaxed);
  s.events = stats_.decode.events.load(std::memory_order_relaxed);
  s.exported = stats_.exporter.spans_exported.load(std::memory_order_relaxed);
  s.dropped = stats_.exporter.dropped_total();
  s.lost = stats_.lost_events_total();
  s.malformed = stats_.decode.malformed_total();
  s.export_failures = stats_.exporter.export_failures.load(std::memory_order_relaxed);
  s.restarts = stats_.source.restarts.load(std::memory_order_relaxed);
  return s;
}

std::string StatusLine::next(std::chrono::steady_clock::time_point now) {
  const Snapshot current = take();
  const double seconds = std::chrono::duration<double>(now - last_time_).count();
  // Counters only grow; a snapshot racing a writer can at worst show 0.
  const auto delta = [](uint64_t now_value, uint64_t before) { return now_value >= before ? now_value - before : 0; };
  const auto rate = [&](uint64_t now_value, uint64_t before) {
    return seconds > 0 ? static_cast<double>(delta(now_value, before)) / seconds : 0.0;
  };
  std::string line = fmt::format(
      "status: lines={:.1f}/s events={:.1f}/s exported={:.1f}/s queue={} open={} dropped=+{} lost=+{} "
      "malformed=+{} export_failures=+{} restarts=+{}",
      rate(current.lines, last_.lines), rate(current.events, last_.events), rate(current.exported, last_.exported),
      stats_.exporter.queue_depth.load(std::memory_order_relaxed),
      stats_.spans.open_spans.load(std::memory_order_relaxed), delta(current.dropped, last_.dropped),
      delta(current.lost, last_.lost), delta(current.malformed, last_.malformed),
      delta(current.export_failures, last_.export_failures), delta(current.restarts, last_.restarts));
  const SpoolStats& spool = stats_.exporter.spool;
  if (spool.max_bytes.load(std::memory_order_relaxed) > 0) {
    // How far behind the collector is, on disk.
    line += fmt::format(" spool={:.1f}MiB", static_cast<double>(spool.bytes.load(std::memory_order_relaxed)) / 1048576.0);
  }
  last_ = current;
  last_time_ = now;
  return line;
}

}  // namespace bto
