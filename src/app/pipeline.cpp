#include "app/pipeline.h"

#include <fmt/format.h>

#include <optional>

#include "common/log.h"
#include "spans/clock.h"
#include "spans/attribute_keys.h"
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

namespace {

// Empty without a spool.
std::string format_spool_summary(const SpoolStats& p) {
  if (p.max_bytes.load() == 0) return {};
  return fmt::format(
      " | spool: bytes={} spooled={} spooled_requests={} replayed={} replayed_requests={} "
      "spool_dropped_requests={} corrupt={} corrupt_bytes={} resent_requests={}",
      p.bytes.load(), p.spans_spooled.load(), p.requests_spooled.load(), p.spans_replayed.load(),
      p.requests_replayed.load(), p.requests_dropped.load(), p.corrupt_records.load(), p.corrupt_bytes.load(),
      p.resent_requests.load());
}

}  // namespace

std::string format_summary(const PipelineStats& s) {
  const DecodeStats& d = s.decode;
  const CorrelatorStats& c = s.spans;
  const ExportStats& e = s.exporter;
  return fmt::format(
      "lines={} events={} ignored={} malformed={} (json={} not_object={} missing_event={} "
      "wrong_type={} oversized={}) invalid_utf8={} escapes_repaired={} escapes_unrepairable={} "
      "bpftrace_lost_events={} (lost_reported={} lost_unreported={} lost_at_exit={}) | "
      "spans: started={} ended={} single={} timed_out={} evicted={} memory_evicted={} superseded={} "
      "from_orphan_end={} orphan_ends_dropped={} flushed_at_exit={} missing_request_id={} "
      "parent_not_found={} span_events={} trace_context_joined={} trace_context_invalid={} "
      "auto_nested={} sampled_out={} kept_by_tail={} attribute_values_truncated={} "
      "attributes_dropped={} attribute_keys_refused={} families_rejected={} families_replaced={} end_before_start={} events_other_pid={} families_without_start={} event_names_too_long={} replayed={} | export: exported={} dropped={} (queue_full={} rejected={} "
      "retries_exhausted={} shutdown={} spool_full={} spool_incompatible={} output_failed={}) rejected_by_collector={} "
      "requests={} retries={} queue_waits={} queue_wait_ms={}{} | "
      "bpftrace: starts={} restarts={} | span metrics: metric_series={} metric_overflow={} "
      "metric_points_exported={} metric_export_failures={} metric_resource_overflow={} | "
      "families: template_fields_missing={} rule_fields_missing={} conversions_failed={} | "
      "resources: processes={} processes_unreadable={} processes_exited={} pid_reuses={} "
      "resource_overflow_spans={} env_attributes_dropped={} env_attributes_invalid={}",
      d.lines.load(), d.events.load(), d.ignored_records.load(), d.malformed_total(),
      d.malformed_json.load(), d.not_an_object.load(), d.missing_event.load(),
      d.wrong_type.load(), d.oversized.load(), d.invalid_utf8.load(), d.escapes_repaired.load(),
      d.escapes_unrepairable.load(), s.lost_events_total(), d.lost_events.load(), s.source.lost_unreported.load(),
      s.source.lost_at_exit.load(),
      c.spans_started.load(), c.spans_ended.load(), c.spans_single.load(),
      c.spans_timed_out.load(), c.spans_evicted.load(), c.spans_evicted_memory.load(), c.spans_superseded.load(),
      c.spans_from_orphan_end.load(), c.orphan_ends_dropped.load(), c.flushed_at_shutdown.load(),
      c.missing_request_id.load(), c.parent_not_found.load(), c.span_events.load(),
      c.trace_context_joined.load(), c.trace_context_invalid.load(), c.spans_auto_nested.load(),
      c.spans_sampled_out.load(), c.spans_kept_by_tail.load(), c.attribute_values_truncated.load(),
      c.attributes_dropped.load(), refused_attribute_key_count(), c.families_rejected.load(),
      c.families_replaced.load(), c.end_before_start.load(), s.gate.events_other_pid.load(),
      s.gate.families_without_start.load(), s.gate.events_name_too_long.load(), c.spans_replayed.load(),
      e.spans_exported.load(),
      e.dropped_total(), e.dropped_queue_full.load(), e.dropped_permanent_error.load(),
      e.dropped_retries_exhausted.load(), e.dropped_shutdown.load(), e.spool.spans_dropped.load(),
      e.dropped_spool_incompatible.load(), e.dropped_output_failed.load(), e.dropped_partial_success.load(),
      e.export_requests.load(), e.export_retries.load(), e.queue_full_waits.load(),
      e.queue_full_wait_us_total.load() / 1000, format_spool_summary(e.spool),
      s.source.starts.load(), s.source.restarts.load(), s.span_metrics.series.load(),
      s.span_metrics.overflow_measurements.load(), s.span_metrics.data_points_exported.load(),
      s.span_metrics.export_failures.load(), s.span_metrics.resource_overflow_measurements.load(),
      s.families.template_fields_missing.load(), s.families.rule_fields_missing.load(),
      s.families.conversions_failed.load(), s.resources.processes.load(), s.resources.processes_unreadable.load(),
      s.resources.processes_exited.load(), s.resources.pid_reuses.load(), s.resources.overflow_spans.load(),
      s.resources.env_attributes_dropped.load(), s.resources.env_attributes_invalid.load()) +
         format_tree_summary(s.tree);
}

std::string format_tree_summary(const TreeStats& t) {
  if (t.traces_printed.load() == 0 && t.spans_unprinted.load() == 0) return "";
  return fmt::format(
      " | tree: traces={} complete={} settled={} root_missing={} early={} at_exit={} spans_printed={} "
      "spans_unprinted={} peak_held_bytes={}",
      t.traces_printed.load(), t.printed_complete.load(), t.printed_settled.load(), t.printed_root_missing.load(),
      t.printed_early.load(), t.printed_at_exit.load(), t.spans_printed.load(), t.spans_unprinted.load(),
      t.peak_held_bytes.load());
}

}  // namespace bto
