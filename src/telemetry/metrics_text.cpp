#include "telemetry/metrics_text.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <utility>

#include <fmt/format.h>

#include "spans/attribute_keys.h"

namespace bto {
namespace {

constexpr std::string_view kPrefix = "bpftrace_otel_";

uint64_t get(const std::atomic<uint64_t>& value) { return value.load(std::memory_order_relaxed); }

void append_escaped_label(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// One metric family at a time: HELP and TYPE once, then its samples.
class Exposition {
 public:
  explicit Exposition(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view type, std::string_view help, bool prefixed = true) {
    name_.assign(prefixed ? kPrefix : std::string_view());
    name_ += name;
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name_, help, name_, type);
  }

  template <typename Value>
  void sample(Value value, std::string_view suffix = {},
              std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {}) {
    out_ += name_;
    out_ += suffix;
    if (labels.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [key, label_value] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += key;
        out_ += "=\"";
        append_escaped_label(out_, label_value);
        out_ += '"';
      }
      out_ += '}';
    }
    fmt::format_to(std::back_inserter(out_), " {}\n", value);
  }

  template <typename Value>
  void labelled(std::string_view key, std::string_view label_value, Value value) {
    sample(value, {}, {{key, label_value}});
  }

  void counter(std::string_view name, std::string_view help, uint64_t value) {
    family(name, "counter", help);
    sample(value);
  }
  template <typename Value>
  void gauge(std::string_view name, std::string_view help, Value value) {
    family(name, "gauge", help);
    sample(value);
  }

 private:
  std::string& out_;
  std::string name_;
};

struct ProcessFigures {
  bool ok = false;
  double cpu_seconds = 0;
  uint64_t resident_bytes = 0;
};

// /proc/self/stat fields 14-15 (utime, stime, clock ticks) and 24 (rss, pages).
ProcessFigures read_process_figures() {
  ProcessFigures figures;
  std::FILE* file = std::fopen("/proc/self/stat", "re");
  if (file == nullptr) return figures;
  char buffer[1024];
  const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, file);
  std::fclose(file);
  buffer[n] = '\0';
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const char* p = std::strrchr(buffer, ')');
  if (p == nullptr) return figures;
  unsigned long long utime = 0, stime = 0;
  long long rss = 0;
  const int matched = std::sscanf(p + 1,
                                  " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                                  "%*d %*d %*u %*u %lld",
                                  &utime, &stime, &rss);
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (matched != 3 || ticks <= 0 || page <= 0) return figures;
  figures.ok = true;
  figures.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
  figures.resident_bytes = rss > 0 ? static_cast<uint64_t>(rss) * static_cast<uint64_t>(page) : 0;
  return figures;
}

int count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

double seconds_from_ms(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// The disk spool (--spool-dir); every series present, 0 without a spool.
void render_spool(Exposition& m, const SpoolStats& p) {
  m.gauge("spool_bytes", "Bytes of spool segment files on disk now.", get(p.bytes));
  m.gauge("spool_max_bytes", "spool_max_size (0: no spool).", get(p.max_bytes));
  m.gauge("spool_inherited_bytes", "Bytes a previous run had left in the spool, found at start.",
          get(p.inherited_bytes));
  m.counter("spool_requests_spooled_total", "Export requests written to the spool.", get(p.requests_spooled));
  m.counter("spool_spans_spooled_total", "Spans in export requests written to the spool.", get(p.spans_spooled));
  m.counter("spool_requests_replayed_total", "Spooled export requests sent and accepted by the collector.",
            get(p.requests_replayed));
  m.counter("spool_spans_replayed_total", "Spans in spooled requests sent and accepted; part of spans_exported.",
            get(p.spans_replayed));
  m.counter("spool_requests_dropped_total",
            "Spooled requests dropped: the oldest at spool_max_size or a full disk, or not writable; their spans "
            "are spans_dropped{reason=\"spool_full\"}.",
            get(p.requests_dropped));
  m.counter("spool_corrupt_records_total",
            "Damaged stretches of spool files skipped (torn writes, flipped bits, foreign files).",
            get(p.corrupt_records));
  m.counter("spool_corrupt_bytes_total", "Bytes of spool files skipped as damaged.", get(p.corrupt_bytes));
  m.counter("spool_resent_requests_total",
            "Spooled requests an earlier run had sent without seeing the answer, sent again (maybe duplicates).",
            get(p.resent_requests));
}

}  // namespace

int64_t unix_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void render_metrics(const PipelineStats& stats, const MetricsInfo& info, int64_t now_unix_ms, std::string& out) {
  out.clear();
  Exposition m(out);
  const DecodeStats& d = stats.decode;
  const CorrelatorStats& c = stats.spans;
  const ExportStats& e = stats.exporter;
  const SourceStats& s = stats.source;

  // ---- process
  m.family("build_info", "gauge", "Always 1; the version of bpftrace-otel in a label.");
  m.labelled("version", info.version, 1);
  if (!info.bpftrace_version.empty()) {
    m.family("bpftrace_info", "gauge", "Always 1; the version of the bpftrace that runs the script in a label.");
    m.labelled("version", info.bpftrace_version, 1);
  }
  if (info.start_time_unix_ms > 0) {
    m.gauge("uptime_seconds", "Seconds since the exporter started.",
            seconds_from_ms(std::max<int64_t>(0, now_unix_ms - info.start_time_unix_ms)));
    m.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.",
             /*prefixed=*/false);
    m.sample(seconds_from_ms(info.start_time_unix_ms));
  }
  if (info.process_metrics) {
    const ProcessFigures figures = read_process_figures();
    if (figures.ok) {
      m.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", false);
      m.sample(figures.cpu_seconds);
      m.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", false);
      m.sample(figures.resident_bytes);
    }
    if (const int fds = count_open_fds(); fds >= 0) {
      m.family("process_open_fds", "gauge", "Number of open file descriptors.", false);
      m.sample(fds);
    }
  }

  // ---- source: bpftrace
  m.counter("bpftrace_starts_total", "bpftrace processes spawned (first start and restarts).", get(s.starts));
  m.counter("bpftrace_restarts_total", "bpftrace restarts after it died while the target lived.", get(s.restarts));
  m.gauge("bpftrace_attached", "1 while a bpftrace process runs and has attached its probes.",
          s.attached.load(std::memory_order_relaxed) ? 1 : 0);
  m.gauge("bpftrace_last_exit_code", "Exit code of the last bpftrace process (128+signal; -1: none ended).",
          s.last_exit_code.load(std::memory_order_relaxed));
  m.counter("bpftrace_stdout_bytes_total", "Bytes read from bpftrace's stdout (live mode).", get(s.stdout_bytes));
  m.counter("bpftrace_stdout_lines_total", "JSON lines read from bpftrace's stdout (live mode).",
            get(s.stdout_lines));
  m.counter("bpftrace_message_lines_total",
            "Non-JSON lines on bpftrace's stdout (bpftrace messages, -c command output), logged.",
            get(s.message_lines));
  m.counter("bpftrace_stderr_lines_total", "Lines bpftrace wrote to stderr.", get(s.stderr_lines));
  m.counter("bpftrace_oversized_lines_total", "bpftrace stdout lines longer than max_line_bytes, skipped.",
            get(s.oversized_lines));
  m.counter("bpftrace_lost_events_total",
            "Events lost in bpftrace's buffers: reported by bpftrace, plus those it leaves out (below).",
            stats.lost_events_total());
  m.family("bpftrace_lost_events_unreported_total", "counter",
           "Lost events bpftrace did not report: on the CPU its counter forgets (0.24+), or left in its ring buffer "
           "when it exited.");
  m.labelled("reason", "last_cpu", get(s.lost_unreported));
  m.labelled("reason", "left_at_exit", get(s.lost_at_exit));
  m.counter("input_bytes_total", "Bytes read from a replayed input (--input); live mode counts stdout bytes.",
            get(stats.bytes_read));

  // ---- decode
  m.counter("lines_read_total", "Input lines handed to the decoder (live or replay).", get(d.lines));
  m.counter("documents_total", "JSON documents decoded (a printf record may carry several).", get(d.documents));
  m.counter("events_total", "Events decoded and passed to the correlator.", get(d.events));
  m.counter("recorded_requests_total", "OTLP/JSON export requests read from a recording (--input).",
            get(d.otlp_requests));
  m.counter("records_ignored_total",
            "bpftrace records recognised and ignored (attached_probes, maps, lost_events, blank lines).",
            get(d.ignored_records));
  m.family("malformed_lines_total", "counter", "Input documents rejected, by kind; each rejected one counts once.");
  m.labelled("kind", "malformed_json", get(d.malformed_json));
  m.labelled("kind", "not_an_object", get(d.not_an_object));
  m.labelled("kind", "missing_event", get(d.missing_event));
  m.labelled("kind", "wrong_type", get(d.wrong_type) - get(d.wrong_type_fields));
  m.labelled("kind", "oversized", get(d.oversized));
  m.family("event_fields_dropped_total", "counter", "Fields dropped from delivered events, by reason.");
  m.labelled("reason", "wrong_type", get(d.wrong_type_fields));
  m.labelled("reason", "too_many_fields", get(d.dropped_fields));
  m.counter("invalid_utf8_total", "Events whose invalid UTF-8 was replaced by U+FFFD (still delivered).",
            get(d.invalid_utf8));
  m.counter("escapes_repaired_total",
            "Lines whose non-ASCII bytes bpftrace escaped as \\uffffffXX, turned back into UTF-8.",
            get(d.escapes_repaired));
  m.counter("escapes_unrepairable_total",
            "Of those, lines where escaped bytes were not UTF-8 (a string cut inside a character): U+FFFD.",
            get(d.escapes_unrepairable));

  // ---- spans
  m.counter("spans_started_total", "Start events that opened a span.", get(c.spans_started));
  m.family("spans_total", "counter", "Spans finished by the correlator, by outcome.");
  m.labelled("outcome", "ended", get(c.spans_ended));
  m.labelled("outcome", "single", get(c.spans_single));
  m.labelled("outcome", "timed_out", get(c.spans_timed_out));
  m.labelled("outcome", "evicted", get(c.spans_evicted));
  m.labelled("outcome", "superseded", get(c.spans_superseded));
  m.labelled("outcome", "orphan_end", get(c.spans_from_orphan_end));
  m.labelled("outcome", "flushed_at_shutdown", get(c.flushed_at_shutdown));
  m.gauge("open_spans", "Spans started and not yet ended.", get(c.open_spans));
  m.counter("span_events_total", "Point events attached to an open span.", get(c.span_events));
  m.counter("span_events_dropped_total", "Point events dropped: the per-span event cap was reached.",
            get(c.span_events_dropped));
  m.counter("orphan_ends_dropped_total", "End events without a duration whose start never came.",
            get(c.orphan_ends_dropped));
  m.counter("orphan_ends_evicted_total", "Held end events given up early because the hold buffer was full.",
            get(c.orphan_ends_evicted));
  m.counter("events_missing_request_id_total", "Start/end events without a request_id.", get(c.missing_request_id));
  m.counter("parent_not_found_total", "Events whose parent_id named no open span.", get(c.parent_not_found));
  m.counter("events_other_pid_total", "Events dropped by --pid: their pid field named another process.",
            get(stats.gate.events_other_pid));
  m.counter("events_name_too_long_total", "Events dropped: name longer than 256 bytes.",
            get(stats.gate.events_name_too_long));
  m.counter("spans_evicted_memory_total",
            "Open spans evicted (part of spans_total{outcome=\"evicted\"}) because span state reached --max-memory.",
            get(c.spans_evicted_memory));
  m.counter("families_rejected_total", "Events dropped: their family was new and the family table full.",
            get(c.families_rejected));
  m.counter("families_without_start_total", "Event families that had end events and never a start (warned once each).",
            get(stats.gate.families_without_start));
  m.counter("spans_end_before_start_total",
            "Spans whose end came before their start: ended at their start, marked bpftrace_otel.end_before_start_ns.",
            get(c.end_before_start));
  m.counter("spans_sampled_out_total", "Finished spans the head sampler left out (sampler_ratio): not exported.",
            get(c.spans_sampled_out));
  m.counter("spans_kept_by_tail_total", "Spans the head sampler left out and a tail rule kept (errors, slow spans).",
            get(c.spans_kept_by_tail));
  m.counter("spans_auto_nested_total", "Spans given a parent by thread (auto nesting).", get(c.spans_auto_nested));
  m.family("trace_context_total", "counter", "traceparent / trace_id fields of events, by outcome.");
  m.labelled("outcome", "joined", get(c.trace_context_joined));
  m.labelled("outcome", "invalid", get(c.trace_context_invalid));
  m.counter("attribute_values_truncated_total", "String values and span names cut to their length limit.",
            get(c.attribute_values_truncated));
  m.counter("attributes_dropped_total", "Attributes dropped beyond the per-span attribute count limit.",
            get(c.attributes_dropped));
  m.counter("attribute_keys_refused_total", "Attributes dropped: the attribute key store was full.",
            refused_attribute_key_count());
  m.counter("families_replaced_total", "Unused event families aged out (LRU) to make room for a new one.",
            get(c.families_replaced));
  m.counter("spans_replayed_total", "Spans of an OTLP/JSON recording (--input) sent on unchanged.",
            get(c.spans_replayed));
  if (info.memory_budget != nullptr) {
    const MemoryBudget& budget = *info.memory_budget;
    m.gauge("memory_budget_bytes", "--max-memory: the bound on span state (open and queued spans).", budget.limit());
    m.family("memory_used_bytes", "gauge", "Span state held now, by state, counted against --max-memory.");
    m.labelled("state", "open", budget.open_bytes());
    m.labelled("state", "queued", budget.queued_bytes());
  }

  // ---- export
  m.counter("spans_enqueued_total", "Finished spans accepted by the export queue.", get(e.spans_enqueued));
  m.counter("spans_exported_total", "Spans in export requests the backend accepted.", get(e.spans_exported));
  m.family("spans_dropped_total", "counter", "Spans lost before or during export, by reason.");
  m.labelled("reason", "queue_full", get(e.dropped_queue_full));
  m.labelled("reason", "permanent_error", get(e.dropped_permanent_error));
  m.labelled("reason", "retries_exhausted", get(e.dropped_retries_exhausted));
  m.labelled("reason", "shutdown", get(e.dropped_shutdown));
  m.labelled("reason", "spool_full", get(e.spool.spans_dropped));
  m.labelled("reason", "spool_incompatible", get(e.dropped_spool_incompatible));
  m.labelled("reason", "output_failed", get(e.dropped_output_failed));
  m.counter("spans_rejected_by_collector_total",
            "Spans the collector rejected inside accepted requests (partial success); part of spans_exported.",
            get(e.dropped_partial_success));
  m.counter("export_retries_total", "Export requests retried after a retryable failure.", get(e.export_retries));
  m.counter("export_failures_total", "Export attempts that ended a batch in failure.", get(e.export_failures));
  m.family("export_request_duration_seconds", "summary", "Duration of export requests sent to the backend.");
  m.sample(static_cast<double>(get(e.export_latency_us_total)) / 1e6, "_sum");
  m.sample(get(e.export_requests), "_count");
  m.gauge("export_queue_size", "Finished spans waiting in the export queue.", get(e.queue_depth));
  if (info.queue_capacity > 0) {
    m.gauge("export_queue_capacity", "Size of the export queue (max_queue_size).", info.queue_capacity);
  }
  m.counter("export_queue_full_waits_total",
            "Times the reader waited for room in a full export queue (on_queue_full=block).", get(e.queue_full_waits));
  m.family("export_queue_full_wait_seconds_total", "counter",
           "Time the reader spent waiting for room in the export queue (on_queue_full=block).");
  m.sample(static_cast<double>(get(e.queue_full_wait_us_total)) / 1e6);
  render_spool(m, e.spool);
  const int64_t last_ok = e.last_export_success_unix_ms.load(std::memory_order_relaxed);
  const int64_t last_failed = e.last_export_failure_unix_ms.load(std::memory_order_relaxed);
  m.gauge("last_export_success_timestamp_seconds",
          "Unix time of the last export attempt the backend accepted (0: none yet).", seconds_from_ms(last_ok));
  m.gauge("last_export_failure_timestamp_seconds", "Unix time of the last failed export attempt (0: none yet).",
          seconds_from_ms(last_failed));
  // ---- span metrics (docs/metrics.md)
  const SpanMetricsStats& sm = stats.span_metrics;
  m.gauge("span_metrics_series", "Attribute sets held by the span metrics (all metrics, overflow sets included).",
          get(sm.series));
  m.counter("span_metrics_overflow_measurements_total",
            "Span measurements recorded into {otel.metric.overflow=true}: a metric hit its cardinality limit.",
            get(sm.overflow_measurements));
  m.counter("span_metrics_data_points_exported_total", "Metric data points in exports the collector accepted.",
            get(sm.data_points_exported));
  m.counter("span_metrics_export_failures_total", "Metric exports given up (the next one carries the totals).",
            get(sm.export_failures));
  m.counter("span_metrics_export_requests_total", "Metric export requests sent.", get(sm.export_requests));
  m.counter("span_metrics_data_points_rejected_total",
            "Metric data points the collector rejected inside accepted exports (partial success).",
            get(sm.data_points_rejected));
  m.counter("span_metrics_spans_observed_total", "Finished spans measured by the span metrics (before sampling).",
            get(sm.spans_observed));
  m.gauge("span_metrics_resources", "Resources (traced processes, and the exporter's own) holding span metrics.",
          get(sm.resources));
  m.counter("span_metrics_resource_overflow_measurements_total",
            "Span measurements recorded under the exporter's own resource: too many processes (max_processes).",
            get(sm.resource_overflow_measurements));
  // ---- the console's tree view (docs/console.md); all 0 without it
  const TreeStats& t = stats.tree;
  m.family("tree_traces_printed_total", "counter", "Traces the tree view printed, by why they were printed then.");
  m.labelled("reason", "complete", get(t.printed_complete));
  m.labelled("reason", "settled", get(t.printed_settled));
  m.labelled("reason", "root_missing", get(t.printed_root_missing));
  m.labelled("reason", "early", get(t.printed_early));
  m.labelled("reason", "at_exit", get(t.printed_at_exit));
  m.counter("tree_spans_printed_total", "Spans the tree view printed.", get(t.spans_printed));
  m.counter("tree_spans_unprinted_total",
            "Spans the tree view held, then lost to a failed write or the shutdown deadline.", get(t.spans_unprinted));
  m.gauge("tree_held_spans", "Spans the tree view holds until their trace is printed.", get(t.held_spans));
  m.gauge("tree_held_bytes", "Bytes the tree view holds.", get(t.held_bytes));
  m.gauge("tree_peak_held_bytes", "The most bytes the tree view has held at once.", get(t.peak_held_bytes));
  // ---- per-process resources (docs/resources.md)
  const ResourceStats& r = stats.resources;
  m.counter("processes_total", "Traced processes given a resource (read from /proc once, at their first span).",
            get(r.processes));
  m.counter("processes_unreadable_total",
            "Processes gone or unreadable at their first span: their resource names the pid only.",
            get(r.processes_unreadable));
  m.counter("processes_exited_total", "Processes forgotten because they exited.", get(r.processes_exited));
  m.counter("process_pid_reuses_total", "Processes forgotten because their pid now belongs to another process.",
            get(r.pid_reuses));
  m.gauge("processes", "Traced processes holding a resource now.", get(r.cached));
  m.counter("resource_overflow_spans_total",
            "Spans given the exporter's own resource because max_processes processes already hold one.",
            get(r.overflow_spans));
  m.counter("process_env_attributes_dropped_total",
            "Attributes from processes' OTEL_RESOURCE_ATTRIBUTES dropped (limits, or overriding a measured one).",
            get(r.env_attributes_dropped));
  m.counter("process_env_attributes_invalid_total",
            "Processes whose OTEL_RESOURCE_ATTRIBUTES did not parse (ignored whole).", get(r.env_attributes_invalid));
  // ---- declared families (docs/families.md)
  const FamilyStats& f = stats.families;
  m.counter("family_template_fields_missing_total",
            "Span-name or status-message placeholders of declared families with no value (rendered empty).",
            get(f.template_fields_missing));
  m.counter("family_rule_fields_missing_total",
            "Status rules of declared families on an absent field (evaluated as false).", get(f.rule_fields_missing));
  m.counter("family_conversions_failed_total",
            "Attribute type conversions of declared families that failed (the value keeps its own type).",
            get(f.conversions_failed));
}

}  // namespace bto
