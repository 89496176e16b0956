#include "app/pipeline.h"

#include <optional>

#include "common/log.h"
#include "spans/clock.h"
#include "spans/event_gate.h"
#include "spans/handlers/config_family_handler.h"
#include "telemetry/status_line.h"

namespace bto {

struct Pipeline::Parts {
  ProcessResources* resources;
  std::unique_ptr<Clock> clock = create_system_clock();
  TimestampConverter timestamps{*clock};
  HandlerRegistry handlers;
  MemoryBudget budget;  // open + queued span state, in bytes (--max-memory)
  SpanPool pool;
  std::unique_ptr<BatchProcessor> batch;
  std::unique_ptr<Correlator> correlator;
  std::unique_ptr<EventGate> gate;  // decoder -> gate -> correlator
  std::unique_ptr<Decoder> decoder;
  RateLimitedLog oversized_log;
  std::chrono::milliseconds status_interval;
  std::optional<StatusLine> status;  // only with --status-interval
  std::chrono::steady_clock::time_point next_status{};

  Parts(const AppOptions& options, const ExporterFactory& make_exporter, PipelineStats& stats, Spool* spool,
        ProcessResources* process_resources)
      : resources(process_resources),
        handlers(options.handlers),
        budget(options.correlator.max_memory),
        pool(options.batch.max_queue_size + 1024, &budget),
        status_interval(options.status_interval) {
    if (status_interval.count() > 0) {
      const auto now = std::chrono::steady_clock::now();
      status.emplace(stats, now);
      next_status = now + status_interval;
    }
    // Declared families first: one may replace a built-in (e.g. http_request).
    register_config_families(handlers, options.families.specs, stats.families);
    register_builtin_handlers(handlers);
    batch = create_batch_processor(options.batch, make_exporter, pool, stats.exporter, spool);
    correlator = create_correlator(options.correlator, handlers, pool, *batch, timestamps, stats.spans, resources);
    gate = std::make_unique<EventGate>(
        EventGateOptions{.target_pid = options.source.target_pid,
                         .start_grace = options.correlator.orphan_hold,
                         .max_families = options.correlator.max_families},
        *correlator, stats.gate);
    decoder = create_decoder(options.decode, stats.decode);
  }
};

Pipeline::Pipeline(const AppOptions& options, const ExporterFactory& make_exporter, PipelineStats& stats,
                   Spool* spool, ProcessResources* resources)
    : parts_(std::make_unique<Parts>(options, make_exporter, stats, spool, resources)), stats_(stats) {}

Pipeline::~Pipeline() = default;

void Pipeline::on_line(std::string_view line) {
  if (stop_signal_ != 0) return;  // stopping: the rest of the read is not used
  parts_->decoder->decode_line(line, *parts_->gate);
}

const MemoryBudget& Pipeline::memory_budget() const noexcept { return parts_->budget; }

void Pipeline::set_queue_wait_hook(std::function<void()> hook) { parts_->batch->set_wait_hook(std::move(hook)); }

void Pipeline::request_stop(int signal, std::chrono::steady_clock::time_point deadline) {
  if (stop_signal_ != 0) return;
  stop_signal_ = signal;
  stop_deadline_ = deadline;
  parts_->batch->limit_waits(deadline);
}

void Pipeline::on_oversized_line(std::string_view prefix, size_t length) {
  ++stats_.decode.lines;
  ++stats_.decode.documents;
  ++stats_.decode.oversized;
  parts_->oversized_log.warn("skipped a {}-byte line (longer than max_line_bytes): {}", length,
                             quote_bytes(prefix));
}

void Pipeline::set_span_observer(SpanObserver* observer) noexcept { parts_->correlator->set_observer(observer); }

void Pipeline::sweep() {
  parts_->correlator->sweep();
  parts_->gate->check_families();
  const auto now = std::chrono::steady_clock::now();
  if (parts_->resources != nullptr) parts_->resources->sweep(now);
  if (parts_->status) {
    if (now >= parts_->next_status) {
      spdlog::info("{}", parts_->status->next(now));
      parts_->next_status = now + parts_->status_interval;
    }
  }
}

void Pipeline::finish(std::chrono::milliseconds deadline) {
  parts_->gate->check_families(/*final=*/true);
  const auto now = std::chrono::steady_clock::now();
  const auto until = std::min(stop_deadline_, now + deadline);
  // Open spans emitted now wait for room (block mode) no longer than the deadline.
  parts_->batch->limit_waits(until);
  parts_->correlator->flush_all();
  parts_->batch->shutdown(std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       until - std::chrono::steady_clock::now()),
                                   std::chrono::milliseconds(0)));
}

}  // namespace bto
