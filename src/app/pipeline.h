#pragma once
// Wires the stages: lines -> Decoder -> Correlator -> BatchProcessor -> exporter.
// Everything here runs on the reader thread except the export workers.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/app_options.h"
#include "decode/decoder.h"
#include "export/batch_processor.h"
#include "source/bpftrace_process.h"
#include "resource/process_resources.h"
#include "source/line_reader.h"
#include "spans/correlator.h"
#include "telemetry/pipeline_stats.h"

namespace bto {

class Pipeline : public LineHandler {
 public:
  // `spool` and `resources` (each may be null) must outlive the pipeline. `resources` gives each
  // span its process's resource (null: the exporter's own for all).
  Pipeline(const AppOptions& options, const ExporterFactory& make_exporter, PipelineStats& stats,
           Spool* spool = nullptr, ProcessResources* resources = nullptr);
  ~Pipeline() override;

  // Ignored once a stop was requested.
  void on_line(std::string_view line) override;
  void on_oversized_line(std::string_view prefix, size_t length) override;
  // Sees every finished span before sampling (span metrics); must outlive the pipeline.
  void set_span_observer(SpanObserver* observer) noexcept;

  // Expire timed-out spans and held orphan ends, log the status line when due;
  // call after each chunk and on idle.
  void sweep();
  // End of input: emit what is open, flush the export queue within the
  // deadline (or what is left of the one request_stop() set).
  void finish(std::chrono::milliseconds deadline);

  // on_queue_full=block: runs on the reader thread about every 50 ms while it
  // waits for room in the export queue (the app looks for stop signals there).
  void set_queue_wait_hook(std::function<void()> hook);
  // A stop signal arrived while the reader waited: input lines are ignored
  // from now on, and waits for room in the export queue end at `deadline`.
  void request_stop(int signal, std::chrono::steady_clock::time_point deadline);
  int stop_signal() const noexcept { return stop_signal_; }
  // The span-state budget (--max-memory), for /metrics; lives as long as the pipeline.
  const MemoryBudget& memory_budget() const noexcept;
  // The deadline request_stop() set; time_point::max() without one.
  std::chrono::steady_clock::time_point stop_deadline() const noexcept { return stop_deadline_; }

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
  PipelineStats& stats_;
  int stop_signal_ = 0;
  std::chrono::steady_clock::time_point stop_deadline_ = std::chrono::steady_clock::time_point::max();
};

}  // namespace bto
