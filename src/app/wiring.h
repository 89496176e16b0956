#pragma once
// Builds the pieces run() needs from the options: resource, exporter factory,
// and the live loop around the bpftrace supervisor.

#include "app/pipeline.h"
#include "app/signals.h"
#include "config/app_options.h"
#include "export/local_output.h"
#include "export/span_exporter.h"
#include "metrics/metrics_exporter.h"
#include "resource/process_resources.h"
#include "source/bpftrace_version.h"

namespace bto {

// Live mode: the version of the bpftrace that will run (`bpftrace --version`),
// logged. nullopt when replaying, when bpftrace is not found (the source's
// checks then say what to do) or when it prints no version.
std::optional<BpftraceRelease> detect_bpftrace(const AppOptions& options);

ResourceInfo make_resource(const AppOptions& options, const std::optional<BpftraceRelease>& bpftrace);
// A resource per traced process (docs/resources.md), starting from `own`.
std::unique_ptr<ProcessResources> make_process_resources(const AppOptions& options, const ResourceInfo& own,
                                                         ResourceStats& stats);

// The local outputs: stdout (console views, console metrics) and, for
// --exporter file, the file. run() stops when one is closed by its reader and
// exits non-zero when a write to one failed.
struct LocalOutputs {
  std::shared_ptr<LocalOutput> console;
  std::shared_ptr<LocalOutput> file;  // null unless --exporter file
  // The output whose reader went away (EPIPE), or null.
  const LocalOutput* closed() const noexcept;
  // The first output a write failed on, or null.
  const LocalOutput* failed() const noexcept;
};
// Throws StartupError when --output cannot be opened.
LocalOutputs open_local_outputs(const AppOptions& options);

ExporterFactory make_exporter_factory(const AppOptions& options, const ResourceInfo& resource,
                                      PipelineStats& stats, const LocalOutputs& outputs);

// Span metrics (docs/metrics.md): the aggregator to observe the correlator
// with, and the thread exporting it. Both null when metrics are off.
struct SpanMetricsParts {
  std::unique_ptr<SpanMetrics> metrics;
  std::unique_ptr<MetricsReader> reader;
};
// Throws StartupError on unusable metrics settings.
SpanMetricsParts make_span_metrics(const AppOptions& options, const ResourceInfo& resource,
                                   SpanMetricsStats& stats, const LocalOutputs& outputs);

struct LiveOutcome {
  int stop_signal = 0;  // SIGINT/SIGTERM that ended the run, or 0
  int exit_code = 0;    // non-zero when bpftrace failed for good
};
// Also stops bpftrace when a local output's reader goes away.
LiveOutcome run_live(const AppOptions& options, const std::optional<BpftraceRelease>& bpftrace, Pipeline& pipeline,
                     StopSignals& signals, PipelineStats& stats, const LocalOutputs& outputs);

}  // namespace bto
