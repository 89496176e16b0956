#pragma once
// What /healthz and /readyz answer. Telemetry does not depend on app/: the
// app owns a HealthState and flips its atomics; everything else is read from
// the stage stats.

#include <atomic>
#include <string>

#include "telemetry/pipeline_stats.h"

namespace bto {

struct HealthState {
  // Replaying a recorded stream: there is no bpftrace to wait for, the
  // source counts as ready while the input is being read.
  std::atomic<bool> replay{false};
  // Set when the pipeline starts flushing at exit: no longer ready.
  std::atomic<bool> stopping{false};
};

struct Readiness {
  bool ready = false;
  std::string reason;  // why not ready; empty when ready
};

// Ready when the source produces (bpftrace attached its probes, or replay)
// AND the exporter is reachable: the last export attempt succeeded, or no
// attempt has been made yet (console/none exporters never fail).
Readiness check_readiness(const PipelineStats& stats, const HealthState& health);

}  // namespace bto
