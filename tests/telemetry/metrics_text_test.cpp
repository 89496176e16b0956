#include "telemetry/metrics_text.h"

#include <fstream>
#include <functional>
#include <iterator>
#include <regex>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "telemetry/summary_line.h"

namespace bto {
namespace {

// One parsed exposition: families with HELP/TYPE, samples in order.
struct Parsed {
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> type;
  std::map<std::string, std::string> samples;  // "name{labels}" -> value
  std::vector<std::string> errors;
};

// Prometheus names: metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]*.
// (Hand-written: std::regex trips gcc 12's -Wmaybe-uninitialized under the sanitizers.)
bool valid_name(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (colon_allowed && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// name="value" pairs separated by commas; values escape only \\, \" and \n.
bool valid_labels(std::string_view labels) {
  while (!labels.empty()) {
    const size_t eq = labels.find('=');
    if (eq == std::string_view::npos || !valid_name(labels.substr(0, eq), false)) return false;
    labels.remove_prefix(eq + 1);
    if (labels.empty() || labels[0] != '"') return false;
    size_t i = 1;
    for (; i < labels.size() && labels[i] != '"'; ++i) {
      if (labels[i] == '\\') {
        if (i + 1 >= labels.size() || (labels[i + 1] != '\\' && labels[i + 1] != '"' && labels[i + 1] != 'n')) {
          return false;
        }
        ++i;
      }
    }
    if (i >= labels.size()) return false;
    labels.remove_prefix(i + 1);
    if (!labels.empty()) {
      if (labels[0] != ',') return false;
      labels.remove_prefix(1);
    }
  }
  return true;
}

std::string family_of(const std::string& name, const std::map<std::string, std::string>& type) {
  if (type.count(name)) return name;
  for (const char* suffix : {"_sum", "_count", "_bucket"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      if (type.count(base)) return base;
    }
  }
  return {};
}

Parsed parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      if (p.help.count(name)) p.errors.push_back("duplicate HELP " + name);
      p.help[name] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      const std::string type = rest.substr(rest.find(' ') + 1);
      if (p.type.count(name)) p.errors.push_back("duplicate TYPE " + name);
      if (!p.help.count(name)) p.errors.push_back("TYPE before HELP for " + name);
      if (type != "counter" && type != "gauge" && type != "summary") p.errors.push_back("bad type " + line);
      if (type == "counter" && !name.ends_with("_total")) {
        p.errors.push_back("counter without _total: " + name);
      }
      p.type[name] = type;
      continue;
    }
    if (line.empty() || line[0] == '#') {
      p.errors.push_back("unexpected line: " + line);
      continue;
    }
    const size_t space = line.rfind(' ');
    std::string series = line.substr(0, space);
    const std::string value = line.substr(space + 1);
    std::string name = series.substr(0, series.find('{'));
    if (!valid_name(name, true)) p.errors.push_back("bad metric name " + name);
    if (series.find('{') != std::string::npos) {
      if (series.back() != '}') p.errors.push_back("unclosed labels " + line);
      std::string labels = series.substr(series.find('{') + 1);
      labels.pop_back();
      if (!valid_labels(labels)) p.errors.push_back("bad labels " + line);
    }
    const std::string family = family_of(name, p.type);
    if (family.empty() || !p.help.count(family)) p.errors.push_back("sample without HELP/TYPE: " + line);
    try {
      size_t used = 0;
      std::stod(value, &used);
      if (used != value.size()) p.errors.push_back("bad value " + line);
    } catch (...) {
      p.errors.push_back("bad value " + line);
    }
    if (p.samples.count(series)) p.errors.push_back("duplicate series " + series);
    p.samples[series] = value;
  }
  return p;
}

// Gives every counter and gauge a distinct value, so each rendered sample
// can be traced back to exactly one atomic.
void fill(PipelineStats& s) {
  uint64_t next = 1001;
  for (auto* a : {&s.decode.lines, &s.decode.documents, &s.decode.events, &s.decode.ignored_records,
                  &s.decode.lost_events, &s.decode.malformed_json, &s.decode.not_an_object,
                  &s.decode.missing_event, &s.decode.wrong_type_fields, &s.decode.invalid_utf8,
                  &s.decode.oversized, &s.decode.dropped_fields, &s.decode.escapes_repaired,
                  &s.decode.escapes_unrepairable}) {
    a->store(next++);
  }
  s.decode.wrong_type.store(s.decode.wrong_type_fields.load() + 7);  // 7 events rejected, the rest fields
  for (auto* a : {&s.spans.spans_started, &s.spans.spans_ended, &s.spans.spans_single, &s.spans.span_events,
                  &s.spans.span_events_dropped, &s.spans.spans_timed_out, &s.spans.spans_evicted,
                  &s.spans.spans_superseded, &s.spans.spans_from_orphan_end, &s.spans.orphan_ends_dropped,
                  &s.spans.orphan_ends_evicted, &s.spans.missing_request_id, &s.spans.parent_not_found,
                  &s.spans.flushed_at_shutdown, &s.spans.open_spans}) {
    a->store(next++);
  }
  for (auto* a : {&s.exporter.spans_enqueued, &s.exporter.spans_exported, &s.exporter.dropped_queue_full,
                  &s.exporter.dropped_permanent_error, &s.exporter.dropped_retries_exhausted,
                  &s.exporter.dropped_shutdown, &s.exporter.dropped_partial_success, &s.exporter.export_requests,
                  &s.exporter.export_retries, &s.exporter.export_failures, &s.exporter.queue_depth}) {
    a->store(next++);
  }
  s.exporter.export_latency_us_total.store(2'500'000);  // 2.5 s
  s.exporter.last_export_success_unix_ms.store(1'700'000'000'500);
  s.exporter.last_export_failure_unix_ms.store(1'700'000'000'250);
  for (auto* a : {&s.source.starts, &s.source.restarts, &s.source.stdout_bytes, &s.source.stdout_lines,
                  &s.source.message_lines, &s.source.stderr_lines, &s.source.oversized_lines,
                  &s.source.lost_unreported, &s.source.lost_at_exit}) {
    a->store(next++);
  }
  s.source.last_exit_code.store(137);
  s.source.attached.store(true);
  for (auto* a : {&s.families.template_fields_missing, &s.families.rule_fields_missing,
                  &s.families.conversions_failed}) {
    a->store(next++);
  }
  auto& c = s.spans;
  for (auto* a : {&c.trace_context_joined, &c.trace_context_invalid, &c.spans_auto_nested, &c.spans_sampled_out,
                  &c.spans_kept_by_tail, &c.attribute_values_truncated, &c.attributes_dropped,
                  &c.families_rejected, &c.families_replaced, &c.end_before_start, &c.spans_replayed,
                  &c.spans_evicted_memory, &s.gate.events_other_pid, &s.gate.families_without_start,
                  &s.gate.events_name_too_long, &s.decode.otlp_requests, &s.exporter.dropped_output_failed,
                  &s.exporter.dropped_spool_incompatible, &s.exporter.queue_full_waits}) {
    a->store(next++);
  }
  auto& p = s.exporter.spool;
  for (auto* a : {&p.bytes, &p.max_bytes, &p.requests_spooled, &p.spans_spooled, &p.requests_replayed,
                  &p.spans_replayed, &p.requests_dropped, &p.spans_dropped, &p.corrupt_records, &p.corrupt_bytes,
                  &p.resent_requests, &p.inherited_bytes}) {
    a->store(next++);
  }
  auto& m = s.span_metrics;
  for (auto* a : {&m.spans_observed, &m.series, &m.overflow_measurements, &m.resources,
                  &m.resource_overflow_measurements, &m.export_requests, &m.export_failures,
                  &m.data_points_exported, &m.data_points_rejected}) {
    a->store(next++);
  }
  auto& r = s.resources;
  for (auto* a : {&r.processes, &r.processes_unreadable, &r.processes_exited, &r.pid_reuses, &r.cached,
                  &r.overflow_spans, &r.env_attributes_dropped, &r.env_attributes_invalid}) {
    a->store(next++);
  }
  auto& t = s.tree;
  for (auto* a : {&t.printed_complete, &t.printed_settled, &t.printed_root_missing,
                  &t.printed_early, &t.printed_at_exit, &t.spans_printed, &t.spans_unprinted, &t.held_spans,
                  &t.held_bytes, &t.peak_held_bytes}) {
    a->store(next++);
  }
  t.traces_printed.store(t.printed_complete + t.printed_settled + t.printed_root_missing + t.printed_early +
                         t.printed_at_exit);
  s.exporter.queue_full_wait_us_total.store(1'500'000);  // 1.5 s
  s.bytes_read.store(next++);
}

MetricsInfo fixed_info() {
  MetricsInfo info;
  info.version = "1.2.3";
  info.start_time_unix_ms = 1'700'000'000'000;
  info.queue_capacity = 65536;
  info.process_metrics = false;
  return info;
}

constexpr int64_t kNow = 1'700'000'090'250;  // 90.25 s after the start

// The checker itself must catch what it is there to catch.
TEST(MetricsText, checker_rejects_bad_exposition) {
  EXPECT_EQ(parse("# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\",j=\"\\\"\"} 1\n").errors.size(), 0u);
  for (const char* bad : {
           "a_total 1\n",                                                 // no HELP/TYPE
           "# HELP a x\n# TYPE a counter\na 1\n",                       // counter without _total
           "# HELP 9a x\n# TYPE 9a gauge\n9a 1\n",                      // bad name
           "# HELP a x\n# TYPE a gauge\na{k=\"v} 1\n",                 // unterminated label value
           "# HELP a x\n# TYPE a gauge\na{k-1=\"v\"} 1\n",            // bad label name
           "# HELP a x\n# TYPE a gauge\na one\n",                       // bad value
           "# HELP a x\n# TYPE a gauge\na 1\na 2\n",                   // duplicate series
       }) {
    EXPECT_FALSE(parse(bad).errors.empty()) << bad;
  }
}

TEST(MetricsText, every_sample_has_help_type_and_a_valid_name) {
  PipelineStats stats;
  fill(stats);
  MetricsInfo info = fixed_info();
  info.process_metrics = true;  // the /proc figures must be well-formed too
  std::string text;
  render_metrics(stats, info, kNow, text);
  const Parsed p = parse(text);
  EXPECT_TRUE(p.errors.empty()) << ::testing::PrintToString(p.errors) << "\n" << text;
  EXPECT_EQ(p.help.size(), p.type.size());
  EXPECT_GT(p.samples.size(), 40u);
  EXPECT_EQ(text.back(), '\n');
  for (const auto& [name, type] : p.type) {
    if (name.rfind("process_", 0) == 0) continue;  // the standard process_* names have no prefix
    EXPECT_EQ(name.rfind("bpftrace_otel_", 0), 0u) << name;
  }
  EXPECT_TRUE(p.samples.count("process_cpu_seconds_total"));
  EXPECT_TRUE(p.samples.count("process_resident_memory_bytes"));
  EXPECT_TRUE(p.samples.count("process_open_fds"));
}

TEST(MetricsText, values_equal_the_atomics) {
  PipelineStats stats;
  fill(stats);
  std::string text;
  render_metrics(stats, fixed_info(), kNow, text);
  const Parsed p = parse(text);
  ASSERT_TRUE(p.errors.empty()) << ::testing::PrintToString(p.errors);
  const auto& d = stats.decode;
  const auto& c = stats.spans;
  const auto& e = stats.exporter;
  const auto& s = stats.source;
  const std::map<std::string, uint64_t> expected = {
      {"bpftrace_otel_lines_read_total", d.lines},
      {"bpftrace_otel_documents_total", d.documents},
      {"bpftrace_otel_events_total", d.events},
      {"bpftrace_otel_records_ignored_total", d.ignored_records},
      {"bpftrace_otel_bpftrace_lost_events_total", d.lost_events + s.lost_unreported + s.lost_at_exit},
      {R"(bpftrace_otel_bpftrace_lost_events_unreported_total{reason="last_cpu"})", s.lost_unreported},
      {R"(bpftrace_otel_bpftrace_lost_events_unreported_total{reason="left_at_exit"})", s.lost_at_exit},
      {"bpftrace_otel_escapes_repaired_total", d.escapes_repaired},
      {"bpftrace_otel_escapes_unrepairable_total", d.escapes_unrepairable},
      {R"(bpftrace_otel_malformed_lines_total{kind="malformed_json"})", d.malformed_json},
      {R"(bpftrace_otel_malformed_lines_total{kind="not_an_object"})", d.not_an_object},
      {R"(bpftrace_otel_malformed_lines_total{kind="missing_event"})", d.missing_event},
      {R"(bpftrace_otel_malformed_lines_total{kind="wrong_type"})", 7},
      {R"(bpftrace_otel_malformed_lines_total{kind="oversized"})", d.oversized},
      {R"(bpftrace_otel_event_fields_dropped_total{reason="wrong_type"})", d.wrong_type_fields},
      {R"(bpftrace_otel_event_fields_dropped_total{reason="too_many_fields"})", d.dropped_fields},
      {"bpftrace_otel_invalid_utf8_total", d.invalid_utf8},
      {"bpftrace_otel_spans_started_total", c.spans_started},
      {R"(bpftrace_otel_spans_total{outcome="ended"})", c.spans_ended},
      {R"(bpftrace_otel_spans_total{outcome="single"})", c.spans_single},
      {R"(bpftrace_otel_spans_total{outcome="timed_out"})", c.spans_timed_out},
      {R"(bpftrace_otel_spans_total{outcome="evicted"})", c.spans_evicted},
      {R"(bpftrace_otel_spans_total{outcome="superseded"})", c.spans_superseded},
      {R"(bpftrace_otel_spans_total{outcome="orphan_end"})", c.spans_from_orphan_end},
      {R"(bpftrace_otel_spans_total{outcome="flushed_at_shutdown"})", c.flushed_at_shutdown},
      {"bpftrace_otel_open_spans", c.open_spans},
      {"bpftrace_otel_span_events_total", c.span_events},
      {"bpftrace_otel_span_events_dropped_total", c.span_events_dropped},
      {"bpftrace_otel_orphan_ends_dropped_total", c.orphan_ends_dropped},
      {"bpftrace_otel_orphan_ends_evicted_total", c.orphan_ends_evicted},
      {"bpftrace_otel_events_missing_request_id_total", c.missing_request_id},
      {"bpftrace_otel_parent_not_found_total", c.parent_not_found},
      {"bpftrace_otel_spans_enqueued_total", e.spans_enqueued},
      {"bpftrace_otel_spans_exported_total", e.spans_exported},
      {R"(bpftrace_otel_spans_dropped_total{reason="queue_full"})", e.dropped_queue_full},
      {R"(bpftrace_otel_spans_dropped_total{reason="permanent_error"})", e.dropped_permanent_error},
      {R"(bpftrace_otel_spans_dropped_total{reason="retries_exhausted"})", e.dropped_retries_exhausted},
      {R"(bpftrace_otel_spans_dropped_total{reason="shutdown"})", e.dropped_shutdown},
      {"bpftrace_otel_spans_rejected_by_collector_total", e.dropped_partial_success},
      {"bpftrace_otel_export_retries_total", e.export_retries},
      {"bpftrace_otel_export_failures_total", e.export_failures},
      {"bpftrace_otel_export_request_duration_seconds_count", e.export_requests},
      {"bpftrace_otel_export_queue_size", e.queue_depth},
      {"bpftrace_otel_export_queue_capacity", 65536},
      {"bpftrace_otel_bpftrace_starts_total", s.starts},
      {"bpftrace_otel_bpftrace_restarts_total", s.restarts},
      {"bpftrace_otel_bpftrace_stdout_bytes_total", s.stdout_bytes},
      {"bpftrace_otel_bpftrace_stdout_lines_total", s.stdout_lines},
      {"bpftrace_otel_bpftrace_message_lines_total", s.message_lines},
      {"bpftrace_otel_bpftrace_stderr_lines_total", s.stderr_lines},
      {"bpftrace_otel_bpftrace_oversized_lines_total", s.oversized_lines},
      {"bpftrace_otel_bpftrace_last_exit_code", 137},
      {"bpftrace_otel_bpftrace_attached", 1},
      {"bpftrace_otel_family_template_fields_missing_total", stats.families.template_fields_missing},
      {"bpftrace_otel_family_rule_fields_missing_total", stats.families.rule_fields_missing},
      {"bpftrace_otel_family_conversions_failed_total", stats.families.conversions_failed},
      {"bpftrace_otel_input_bytes_total", stats.bytes_read},
      {R"(bpftrace_otel_build_info{version="1.2.3"})", 1},
  };
  for (const auto& [series, value] : expected) {
    ASSERT_TRUE(p.samples.count(series)) << series << " missing in\n" << text;
    EXPECT_EQ(p.samples.at(series), std::to_string(value)) << series;
  }
  EXPECT_DOUBLE_EQ(std::stod(p.samples.at("bpftrace_otel_export_request_duration_seconds_sum")), 2.5);
  EXPECT_DOUBLE_EQ(std::stod(p.samples.at("bpftrace_otel_uptime_seconds")), 90.25);
  EXPECT_DOUBLE_EQ(std::stod(p.samples.at("process_start_time_seconds")), 1'700'000'000.0);
  EXPECT_DOUBLE_EQ(std::stod(p.samples.at("bpftrace_otel_last_export_success_timestamp_seconds")),
                   1'700'000'000.5);
  EXPECT_DOUBLE_EQ(std::stod(p.samples.at("bpftrace_otel_last_export_failure_timestamp_seconds")),
                   1'700'000'000.25);

  // Every atomic got a distinct value in fill(): each must show up somewhere.
  std::set<std::string> rendered;
  for (const auto& [series, value] : p.samples) rendered.insert(value);
  for (uint64_t v = 1001; v < stats.bytes_read.load(); ++v) {
    if (v == d.wrong_type) continue;   // rendered as wrong_type - wrong_type_fields
    if (v == d.lost_events) continue;  // rendered within bpftrace_lost_events_total
    EXPECT_TRUE(rendered.count(std::to_string(v))) << "an atomic with value " << v << " is not rendered";
  }
}

// The summary line at exit and /metrics tell the same story: every counter of
// the summary has a /metrics series with the same value (an operator who
// scrapes must see every drop the log would show). A counter added to one and
// not the other fails here.
TEST(MetricsText, every_summary_counter_is_on_metrics_with_the_same_value) {
  PipelineStats stats;
  fill(stats);
  const std::string summary = format_summary(stats);
  std::string text;
  render_metrics(stats, fixed_info(), kNow, text);
  const Parsed p = parse(text);
  ASSERT_TRUE(p.errors.empty()) << ::testing::PrintToString(p.errors);
  const auto value = [&](const std::string& series) -> double {
    const auto it = p.samples.find(series);
    if (it == p.samples.end()) {
      ADD_FAILURE() << series << " is not on /metrics";
      return -1;
    }
    return std::stod(it->second);
  };
  const auto sum_of = [&](const std::string& family) {
    double total = 0;
    for (const auto& [series, sample] : p.samples) {
      if (series.rfind(family + "{", 0) == 0) total += std::stod(sample);
    }
    return total;
  };
  const std::string b = "bpftrace_otel_";
  std::map<std::string, std::function<double()>> metric_of;
  const auto same = [&](const std::string& key, const std::string& series) {
    metric_of[key] = [&value, series] { return value(series); };
  };
  const auto reason = [&](const std::string& key, const std::string& family, const std::string& label,
                          const std::string& label_value) {
    same(key, b + family + "{" + label + "=\"" + label_value + "\"}");
  };
  for (const auto& [key, series] : std::initializer_list<std::pair<const char*, const char*>>{
           {"decode.lines", "lines_read_total"},
           {"decode.events", "events_total"},
           {"decode.ignored", "records_ignored_total"},
           {"decode.invalid_utf8", "invalid_utf8_total"},
           {"decode.escapes_repaired", "escapes_repaired_total"},
           {"decode.escapes_unrepairable", "escapes_unrepairable_total"},
           {"decode.bpftrace_lost_events", "bpftrace_lost_events_total"},
           {"spans.started", "spans_started_total"},
           {"spans.memory_evicted", "spans_evicted_memory_total"},
           {"spans.orphan_ends_dropped", "orphan_ends_dropped_total"},
           {"spans.missing_request_id", "events_missing_request_id_total"},
           {"spans.parent_not_found", "parent_not_found_total"},
           {"spans.span_events", "span_events_total"},
           {"spans.auto_nested", "spans_auto_nested_total"},
           {"spans.sampled_out", "spans_sampled_out_total"},
           {"spans.kept_by_tail", "spans_kept_by_tail_total"},
           {"spans.attribute_values_truncated", "attribute_values_truncated_total"},
           {"spans.attributes_dropped", "attributes_dropped_total"},
           {"spans.attribute_keys_refused", "attribute_keys_refused_total"},
           {"spans.families_rejected", "families_rejected_total"},
           {"spans.families_replaced", "families_replaced_total"},
           {"spans.end_before_start", "spans_end_before_start_total"},
           {"spans.events_other_pid", "events_other_pid_total"},
           {"spans.families_without_start", "families_without_start_total"},
           {"spans.event_names_too_long", "events_name_too_long_total"},
           {"spans.replayed", "spans_replayed_total"},
           {"export.exported", "spans_exported_total"},
           {"export.rejected_by_collector", "spans_rejected_by_collector_total"},
           {"export.requests", "export_request_duration_seconds_count"},
           {"export.retries", "export_retries_total"},
           {"export.queue_waits", "export_queue_full_waits_total"},
           {"spool.bytes", "spool_bytes"},
           {"spool.spooled", "spool_spans_spooled_total"},
           {"spool.spooled_requests", "spool_requests_spooled_total"},
           {"spool.replayed", "spool_spans_replayed_total"},
           {"spool.replayed_requests", "spool_requests_replayed_total"},
           {"spool.spool_dropped_requests", "spool_requests_dropped_total"},
           {"spool.corrupt", "spool_corrupt_records_total"},
           {"spool.corrupt_bytes", "spool_corrupt_bytes_total"},
           {"spool.resent_requests", "spool_resent_requests_total"},
           {"bpftrace.starts", "bpftrace_starts_total"},
           {"bpftrace.restarts", "bpftrace_restarts_total"},
           {"span metrics.metric_series", "span_metrics_series"},
           {"span metrics.metric_overflow", "span_metrics_overflow_measurements_total"},
           {"span metrics.metric_points_exported", "span_metrics_data_points_exported_total"},
           {"span metrics.metric_export_failures", "span_metrics_export_failures_total"},
           {"span metrics.metric_resource_overflow", "span_metrics_resource_overflow_measurements_total"},
           {"families.template_fields_missing", "family_template_fields_missing_total"},
           {"families.rule_fields_missing", "family_rule_fields_missing_total"},
           {"families.conversions_failed", "family_conversions_failed_total"},
           {"resources.processes", "processes_total"},
           {"resources.processes_unreadable", "processes_unreadable_total"},
           {"resources.processes_exited", "processes_exited_total"},
           {"resources.pid_reuses", "process_pid_reuses_total"},
           {"resources.resource_overflow_spans", "resource_overflow_spans_total"},
           {"resources.env_attributes_dropped", "process_env_attributes_dropped_total"},
           {"resources.env_attributes_invalid", "process_env_attributes_invalid_total"},
           {"tree.spans_printed", "tree_spans_printed_total"},
           {"tree.spans_unprinted", "tree_spans_unprinted_total"},
           {"tree.peak_held_bytes", "tree_peak_held_bytes"},
       }) {
    same(key, b + series);
  }
  for (const auto& [key, label_value] : std::initializer_list<std::pair<const char*, const char*>>{
           {"decode.json", "malformed_json"},
           {"decode.not_object", "not_an_object"},
           {"decode.missing_event", "missing_event"},
           {"decode.oversized", "oversized"}}) {
    reason(key, "malformed_lines_total", "kind", label_value);
  }
  // wrong_type in the summary counts events and fields; /metrics splits them.
  metric_of["decode.wrong_type"] = [&] {
    return value(b + "malformed_lines_total{kind=\"wrong_type\"}") +
           value(b + "event_fields_dropped_total{reason=\"wrong_type\"}");
  };
  metric_of["decode.malformed"] = [&] { return sum_of(b + "malformed_lines_total"); };
  metric_of["decode.lost_reported"] = [&] {
    return value(b + "bpftrace_lost_events_total") - sum_of(b + "bpftrace_lost_events_unreported_total");
  };
  reason("decode.lost_unreported", "bpftrace_lost_events_unreported_total", "reason", "last_cpu");
  reason("decode.lost_at_exit", "bpftrace_lost_events_unreported_total", "reason", "left_at_exit");
  for (const auto& [key, outcome] : std::initializer_list<std::pair<const char*, const char*>>{
           {"spans.ended", "ended"},
           {"spans.single", "single"},
           {"spans.timed_out", "timed_out"},
           {"spans.evicted", "evicted"},
           {"spans.superseded", "superseded"},
           {"spans.from_orphan_end", "orphan_end"},
           {"spans.flushed_at_exit", "flushed_at_shutdown"}}) {
    reason(key, "spans_total", "outcome", outcome);
  }
  reason("spans.trace_context_joined", "trace_context_total", "outcome", "joined");
  reason("spans.trace_context_invalid", "trace_context_total", "outcome", "invalid");
  metric_of["export.dropped"] = [&] { return sum_of(b + "spans_dropped_total"); };
  for (const auto& [key, why] : std::initializer_list<std::pair<const char*, const char*>>{
           {"export.queue_full", "queue_full"},
           {"export.rejected", "permanent_error"},
           {"export.retries_exhausted", "retries_exhausted"},
           {"export.shutdown", "shutdown"},
           {"export.spool_full", "spool_full"},
           {"export.spool_incompatible", "spool_incompatible"},
           {"export.output_failed", "output_failed"}}) {
    reason(key, "spans_dropped_total", "reason", why);
  }
  metric_of["export.queue_wait_ms"] = [&] { return value(b + "export_queue_full_wait_seconds_total") * 1000; };
  metric_of["tree.traces"] = [&] { return sum_of(b + "tree_traces_printed_total"); };
  for (const auto& [key, why] : std::initializer_list<std::pair<const char*, const char*>>{
           {"tree.complete", "complete"},
           {"tree.settled", "settled"},
           {"tree.root_missing", "root_missing"},
           {"tree.early", "early"},
           {"tree.at_exit", "at_exit"}}) {
    reason(key, "tree_traces_printed_total", "reason", why);
  }

  // "lines=1 ... | spans: started=2 ... | export: ...": keys by section.
  const std::regex section_name(R"(^([a-z ]+): )");
  const std::regex counter(R"(([a-z][a-z0-9_]*)=([0-9]+))");
  std::set<std::string> keys;
  size_t from = 0;
  while (from <= summary.size()) {
    size_t to = summary.find(" | ", from);
    if (to == std::string::npos) to = summary.size();
    const std::string part = summary.substr(from, to - from);
    from = to + 3;
    std::smatch named;
    const std::string section = std::regex_search(part, named, section_name) ? named[1].str() : "decode";
    for (std::sregex_iterator it(part.begin(), part.end(), counter), end; it != end; ++it) {
      const std::string key = section + "." + (*it)[1].str();
      const double in_summary = std::stod((*it)[2].str());
      keys.insert(key);
      if (key != "spans.attribute_keys_refused") {  // process-wide, not in PipelineStats
        EXPECT_NE(in_summary, 0) << key << ": fill() must give every summary counter a value";
      }
      const auto metric = metric_of.find(key);
      if (metric == metric_of.end()) {
        ADD_FAILURE() << "summary counter " << key << " has no /metrics series (render_metrics, docs/telemetry.md)";
        continue;
      }
      EXPECT_EQ(metric->second(), in_summary) << key;
    }
  }
  for (const auto& [key, metric] : metric_of) {
    EXPECT_TRUE(keys.count(key)) << key << ": mapped here, but not in the summary\n" << summary;
  }
}

// Every metric /metrics serves is explained in docs/telemetry.md.
TEST(MetricsText, every_metric_is_documented) {
  PipelineStats stats;
  fill(stats);
  MetricsInfo info = fixed_info();
  info.bpftrace_version = "0.27.1";
  MemoryBudget budget(1 << 20);
  info.memory_budget = &budget;
  std::string text;
  render_metrics(stats, info, kNow, text);
  const Parsed p = parse(text);
  std::ifstream in(std::string(BTO_SOURCE_DIR) + "/docs/telemetry.md");
  ASSERT_TRUE(in.good());
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& [name, type] : p.type) {
    if (name.rfind("process_", 0) == 0) continue;  // the standard process_* metrics
    EXPECT_NE(doc.find("`" + name + "`"), std::string::npos) << name << " is not in docs/telemetry.md";
  }
}

TEST(MetricsText, malformed_kinds_sum_to_malformed_total) {
  PipelineStats stats;
  fill(stats);
  std::string text;
  render_metrics(stats, fixed_info(), kNow, text);
  const Parsed p = parse(text);
  uint64_t sum = 0;
  for (const auto& [series, value] : p.samples) {
    if (series.rfind("bpftrace_otel_malformed_lines_total{", 0) == 0) sum += std::stoull(value);
  }
  EXPECT_EQ(sum, stats.decode.malformed_total());
}

TEST(MetricsText, golden_lines) {
  PipelineStats stats;
  stats.decode.malformed_json.store(3);
  stats.exporter.dropped_queue_full.store(5);
  stats.spans.spans_timed_out.store(2);
  std::string text;
  render_metrics(stats, fixed_info(), kNow, text);
  for (const char* expected : {
           "# HELP bpftrace_otel_build_info Always 1; the version of bpftrace-otel in a label.\n"
           "# TYPE bpftrace_otel_build_info gauge\n"
           "bpftrace_otel_build_info{version=\"1.2.3\"} 1\n",
           "# TYPE bpftrace_otel_malformed_lines_total counter\n"
           "bpftrace_otel_malformed_lines_total{kind=\"malformed_json\"} 3\n",
           "bpftrace_otel_spans_dropped_total{reason=\"queue_full\"} 5\n",
           "bpftrace_otel_spans_total{outcome=\"timed_out\"} 2\n",
           "# TYPE bpftrace_otel_export_request_duration_seconds summary\n"
           "bpftrace_otel_export_request_duration_seconds_sum 0\n"
           "bpftrace_otel_export_request_duration_seconds_count 0\n",
           "bpftrace_otel_bpftrace_last_exit_code -1\n",
           "bpftrace_otel_bpftrace_attached 0\n",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing:\n" << expected << "\nin:\n" << text;
  }
  EXPECT_EQ(text.find("process_cpu_seconds_total"), std::string::npos);  // process_metrics off
}

TEST(MetricsText, label_values_are_escaped) {
  PipelineStats stats;
  MetricsInfo info = fixed_info();
  info.version = "1.0 \"dev\"\\x\nnext";
  std::string text;
  render_metrics(stats, info, kNow, text);
  EXPECT_NE(text.find(R"(bpftrace_otel_build_info{version="1.0 \"dev\"\\x\nnext"} 1)"), std::string::npos)
      << text;
  const Parsed p = parse(text);
  EXPECT_TRUE(p.errors.empty()) << ::testing::PrintToString(p.errors);
}

TEST(MetricsText, bpftrace_version_is_an_info_gauge) {
  PipelineStats stats;
  MetricsInfo info = fixed_info();
  std::string text;
  render_metrics(stats, info, kNow, text);
  EXPECT_EQ(text.find("bpftrace_otel_bpftrace_info"), std::string::npos);  // replay, or unknown
  info.bpftrace_version = "0.27.1";
  render_metrics(stats, info, kNow, text);
  EXPECT_NE(text.find("# TYPE bpftrace_otel_bpftrace_info gauge\nbpftrace_otel_bpftrace_info{version=\"0.27.1\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(parse(text).errors.empty());
}

TEST(MetricsText, optional_facts_are_left_out_when_unknown) {
  PipelineStats stats;
  MetricsInfo info = fixed_info();
  info.start_time_unix_ms = 0;
  info.queue_capacity = 0;
  std::string text;
  render_metrics(stats, info, kNow, text);
  EXPECT_EQ(text.find("uptime_seconds"), std::string::npos);
  EXPECT_EQ(text.find("process_start_time_seconds"), std::string::npos);
  EXPECT_EQ(text.find("export_queue_capacity"), std::string::npos);
  EXPECT_TRUE(parse(text).errors.empty());
}

}  // namespace
}  // namespace bto
