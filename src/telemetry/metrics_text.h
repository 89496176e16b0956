#pragma once
// Renders every counter and gauge of PipelineStats in the Prometheus text
// exposition format 0.0.4 (what /metrics serves). Names follow the
// OpenTelemetry -> Prometheus conventions: prefix bpftrace_otel_, unit in the
// name, _total on counters, kinds and reasons as labels. docs/telemetry.md
// lists every metric.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/version.h"
#include "spans/memory_budget.h"
#include "telemetry/pipeline_stats.h"

namespace bto {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Facts that are not counters: fixed at start-up, but for the budget read live.
struct MetricsInfo {
  std::string version = kVersion;
  int64_t start_time_unix_ms = 0;  // process start; 0: start time and uptime not rendered
  uint64_t queue_capacity = 0;     // BatchOptions::max_queue_size; 0: not rendered
  bool process_metrics = true;     // process_cpu_seconds_total etc. from /proc/self
  std::string bpftrace_version;    // "0.27.1"; empty: not rendered (replay, or unknown)
  // The span-state budget (--max-memory), read live; null: not rendered. Must
  // outlive whoever renders.
  const MemoryBudget* memory_budget = nullptr;
};

// Replaces `out` with the exposition text. Reads atomics only: safe from any
// thread, never waits for the pipeline.
void render_metrics(const PipelineStats& stats, const MetricsInfo& info, int64_t now_unix_ms, std::string& out);

int64_t unix_now_ms() noexcept;

}  // namespace bto
