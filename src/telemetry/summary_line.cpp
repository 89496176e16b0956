#include "telemetry/summary_line.h"

#include <fmt/format.h>

#include "spans/attribute_keys.h"

namespace bto {
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
