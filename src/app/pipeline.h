#pragma once
// Wires the stages: lines -> Decoder -> Correlator -> BatchProcessor -> exporter.
// Everything here runs on the reader thread except the export workers.

#include <memory>
#include <string>

#include "config/app_options.h"
#include "decode/decoder.h"
#include "export/batch_processor.h"
#include "source/bpftrace_process.h"
#include "source/line_reader.h"
#include "spans/correlator.h"
#include "telemetry/pipeline_stats.h"

namespace bto {

class Pipeline : public LineHandler {
 public:
  Pipeline(const AppOptions& options, const ExporterFactory& make_exporter, PipelineStats& stats);
  ~Pipeline() override;

  void on_line(std::string_view line) override;
  void on_oversized_line(std::string_view prefix, size_t length) override;
  // Sees every finished span before sampling (span metrics); must outlive the pipeline.
  void set_span_observer(SpanObserver* observer) noexcept;

  // Expire timed-out spans and held orphan ends, log the status line when due;
  // call after each chunk and on idle.
  void sweep();
  // End of input: emit what is open, flush the export queue within the deadline.
  void finish(std::chrono::milliseconds deadline);

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
  PipelineStats& stats_;
};

// One line with every counter, for the final summary and the status log.
std::string format_summary(const PipelineStats& stats);

}  // namespace bto
