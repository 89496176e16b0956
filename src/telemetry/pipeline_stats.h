#pragma once
// Every counter the pipeline keeps, in one place: each stage owns its own
// stats struct (atomics, written by one thread, readable from any thread);
// this aggregate is what the summary, the status line and /metrics read.

#include <atomic>
#include <cstdint>

#include "decode/decoder.h"
#include "export/batch_processor.h"
#include "export/trace_tree.h"
#include "metrics/span_metrics.h"
#include "resource/process_resources.h"
#include "source/bpftrace_process.h"
#include "spans/correlator.h"
#include "spans/event_gate.h"
#include "spans/handlers/config_family_handler.h"

namespace bto {

struct PipelineStats {
  DecodeStats decode;
  CorrelatorStats spans;
  EventGateStats gate;  // --pid filter, families without a start
  ExportStats exporter;
  SourceStats source;
  SpanMetricsStats span_metrics;
  FamilyStats families;  // declared ([[family]]) families
  ResourceStats resources;  // per-process resources
  TreeStats tree;        // the console's tree view
  std::atomic<uint64_t> bytes_read{0};

  // Every event lost before it reached us: what bpftrace reported (lost_events
  // records) plus what it did not (source/loss_tracker.h; bpftrace 0.23+).
  uint64_t lost_events_total() const noexcept {
    return decode.lost_events.load(std::memory_order_relaxed) + source.lost_unreported.load(std::memory_order_relaxed) +
           source.lost_at_exit.load(std::memory_order_relaxed);
  }
};

}  // namespace bto
