#include "telemetry/health.h"

#include <fmt/format.h>

namespace bto {

Readiness check_readiness(const PipelineStats& stats, const HealthState& health) {
  if (health.stopping.load(std::memory_order_relaxed)) return {false, "shutting down"};
  if (!health.replay.load(std::memory_order_relaxed) &&
      !stats.source.attached.load(std::memory_order_relaxed)) {
    const uint64_t starts = stats.source.starts.load(std::memory_order_relaxed);
    if (starts == 0) return {false, "bpftrace not started yet"};
    return {false, fmt::format("bpftrace not attached (starts={} restarts={} last_exit_code={})", starts,
                               stats.source.restarts.load(std::memory_order_relaxed),
                               stats.source.last_exit_code.load(std::memory_order_relaxed))};
  }
  const int64_t ok = stats.exporter.last_export_success_unix_ms.load(std::memory_order_relaxed);
  const int64_t failed = stats.exporter.last_export_failure_unix_ms.load(std::memory_order_relaxed);
  if (failed != 0 && failed > ok) {
    return {false, fmt::format("exporter unreachable: the last export attempt failed (at unix ms {}{})",
                               failed, ok == 0 ? ", none succeeded yet" : fmt::format(", last success {}", ok))};
  }
  return {true, {}};
}

}  // namespace bto
