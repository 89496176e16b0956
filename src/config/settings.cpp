#include "config/settings.h"

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "config/setting_values.h"
#include "config/value_parsers.h"
#include "telemetry/metrics_server.h"

namespace bto {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

using std::chrono::hours;
using std::chrono::minutes;

template <typename Duration>
Duration checked_duration(const std::string& key, const std::string& value, const std::string& source,
                          const DurationRule& rule) {
  return std::chrono::duration_cast<Duration>(duration_or_reject(key, value, source, rule));
}

std::vector<Setting> build_settings() {
  std::vector<Setting> s;
  // ---- General
  s.push_back({"input", "-i,--input", {}, "General",
               "Replay a recorded bpftrace -f json stream from PATH ('-' = stdin) instead of "
               "running bpftrace",
               "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) { o.input_path = v; },
               [](const AppOptions& o) { return o.input_path; }});
  s.push_back({"log_level", "--log-level", {"OTEL_LOG_LEVEL"}, "General",
               "Log level: trace, debug, info, warn, error, off", "LEVEL", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 static const std::vector<std::string> kLevels = {
                     "trace", "debug", "info", "warn", "warning", "error", "fatal", "off"};
                 std::string lower;
                 for (char c : v) lower.push_back(static_cast<char>(std::tolower(c)));
                 if (std::find(kLevels.begin(), kLevels.end(), lower) == kLevels.end()) {
                   reject("log_level", src, v, "one of trace, debug, info, warn, error, off");
                 }
                 o.log_level = lower;
               },
               [](const AppOptions& o) { return o.log_level; }});
  s.push_back({"shutdown_timeout", "--shutdown-timeout", {}, "General",
               "Deadline to flush queued spans at exit", "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.shutdown_timeout = checked_duration<milliseconds>(
                     "shutdown_timeout", v, src,
                     {seconds(1), milliseconds(1), hours(1),
                      "exit without waiting for the export queue (queued spans are dropped and counted)"});
                 o.batch.shutdown_timeout = o.shutdown_timeout;
               },
               [](const AppOptions& o) { return show_duration(o.shutdown_timeout); }});
  s.push_back({"status_interval", "--status-interval", {}, "General",
               "Log a one-line status every DURATION (0 = off)", "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.status_interval =
                     checked_duration<milliseconds>("status_interval", v, src, {seconds(1), seconds(1), hours(24), "off"});
               },
               [](const AppOptions& o) { return show_duration(o.status_interval); }});
  s.push_back({"metrics_listen", "--metrics-listen", {"BTO_METRICS_LISTEN"}, "General",
               "Serve Prometheus /metrics, /healthz and /readyz on HOST:PORT (127.0.0.1:9464, "
               "[::1]:9464, :9464 = every interface); empty = off",
               "HOST:PORT", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (!v.empty() && !parse_listen_address(v)) {
                   reject("metrics_listen", src, v,
                          "HOST:PORT, [IPv6]:PORT or :PORT with a port from 0 to 65535, e.g. "
                          "127.0.0.1:9464");
                 }
                 o.metrics_listen = v;
               },
               [](const AppOptions& o) { return o.metrics_listen; }});
  // ---- Spans
  s.push_back({"max_open_spans", "--max-open-spans", {"BTO_MAX_OPEN_SPANS"}, "Spans",
               "Most spans kept open at once; at the limit the oldest is emitted with an error",
               "N", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.max_open_spans =
                     count_or_reject("max_open_spans", v, src, 1, 100'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.correlator.max_open_spans); }});
  s.push_back({"span_timeout", "--span-timeout", {"BTO_SPAN_TIMEOUT"}, "Spans",
               "A span open longer than this is emitted with an error status", "DURATION", false,
               false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.span_timeout = checked_duration<nanoseconds>(
                     "span_timeout", v, src,
                     {seconds(1), milliseconds(1), hours(24 * 7), nullptr, "it would time out every span at once"});
               },
               [](const AppOptions& o) { return show_duration(o.correlator.span_timeout); }});
  s.push_back({"orphan_hold", "--orphan-hold", {}, "Spans",
               "How long an end event waits for its start (per-CPU buffers reorder events)",
               "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.correlator.orphan_hold = checked_duration<nanoseconds>(
                     "orphan_hold", v, src,
                     {seconds(1), milliseconds(1), hours(1), "an end without its start becomes a span at once"});
               },
               [](const AppOptions& o) { return show_duration(o.correlator.orphan_hold); }});
  s.push_back({"semconv_stability_opt_in", "", {"OTEL_SEMCONV_STABILITY_OPT_IN"}, "Spans",
               "http = stable HTTP/network attribute names, http/dup = both", "", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 // A comma-separated list; unknown entries belong to other domains.
                 o.handlers.semconv = SemconvMode::kLegacy;
                 size_t start = 0;
                 while (start <= v.size()) {
                   size_t end = v.find(',', start);
                   if (end == std::string::npos) end = v.size();
                   const std::string item =
                       trim_spaces(std::string_view(v).substr(start, end - start));
                   if (item == "http/dup") {
                     o.handlers.semconv = SemconvMode::kDuplicate;
                   } else if (item == "http" && o.handlers.semconv != SemconvMode::kDuplicate) {
                     o.handlers.semconv = SemconvMode::kStable;
                   }
                   start = end + 1;
                 }
               },
               [](const AppOptions& o) {
                 switch (o.handlers.semconv) {
                   case SemconvMode::kStable: return std::string("http");
                   case SemconvMode::kDuplicate: return std::string("http/dup");
                   case SemconvMode::kLegacy: break;
                 }
                 return std::string("(legacy names)");
               }});
  s.push_back({"max_line_bytes", "--max-line-bytes", {}, "Spans",
               "Longest accepted input line; longer lines are counted and skipped", "BYTES",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.decode.max_line_bytes =
                     count_or_reject("max_line_bytes", v, src, 256, 64ull << 20);
               },
               [](const AppOptions& o) { return std::to_string(o.decode.max_line_bytes); }});
  // ---- Output
  s.push_back({"traces_exporter", "--exporter", {"OTEL_TRACES_EXPORTER"}, "Output",
               "otlp, console, file or none (default: otlp when an endpoint is set, file when --output "
               "is, else console)",
               "NAME", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "otlp") {
                   o.exporter = TracesExporter::kOtlp;
                 } else if (v == "console" || v == "logging") {
                   o.exporter = TracesExporter::kConsole;
                 } else if (v == "none") {
                   o.exporter = TracesExporter::kNone;
                 } else if (v == "file") {
                   o.exporter = TracesExporter::kFile;
                 } else {
                   reject("traces_exporter", src, v, "otlp, console, file or none");
                 }
                 o.exporter_explicit = true;
               },
               [](const AppOptions& o) {
                 switch (o.exporter) {
                   case TracesExporter::kOtlp: return std::string("otlp");
                   case TracesExporter::kNone: return std::string("none");
                   case TracesExporter::kFile: return std::string("file");
                   case TracesExporter::kConsole: break;
                 }
                 return std::string("console");
               }});
  s.push_back({"console_format", "--console-format", {}, "Output",
               "Console view: text (one line per span as it ends), json (one object per line) or tree "
               "(each trace as a tree once complete; docs/console.md)",
               "FORMAT", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "text") {
                   o.console.format = ConsoleFormat::kText;
                 } else if (v == "json") {
                   o.console.format = ConsoleFormat::kJson;
                 } else if (v == "tree") {
                   o.console.format = ConsoleFormat::kTree;
                 } else {
                   reject("console_format", src, v, "text, json or tree");
                 }
               },
               [](const AppOptions& o) {
                 switch (o.console.format) {
                   case ConsoleFormat::kJson: return std::string("json");
                   case ConsoleFormat::kTree: return std::string("tree");
                   case ConsoleFormat::kText: break;
                 }
                 return std::string("text");
               }});
  add_output_settings(s);
  s.push_back({"service_name", "--service-name", {"OTEL_SERVICE_NAME", "SERVICE_NAME"},
               "Output", "service.name of the traced service", "NAME", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.service_name = v;
                 o.service_name_explicit = true;
               },
               [](const AppOptions& o) { return o.service_name; }});
  s.push_back({"resource_attributes", "", {"OTEL_RESOURCE_ATTRIBUTES"}, "Output",
               "Extra resource attributes, k=v,k2=v2 (percent-encoded values)", "", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.resource_attributes = v;
               },
               [](const AppOptions& o) { return o.resource_attributes; }});
  s.push_back({"tracer_name", "", {"TRACER_NAME"}, "Output",
               "Instrumentation scope name", "", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) { o.tracer_name = v; },
               [](const AppOptions& o) { return o.tracer_name; }});
  // ---- Batching
  s.push_back({"bsp_max_queue_size", "--max-queue-size", {"OTEL_BSP_MAX_QUEUE_SIZE"}, "Batching",
               "Finished spans waiting for export; when full, new spans are dropped and counted",
               "N", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.batch.max_queue_size =
                     count_or_reject("bsp_max_queue_size", v, src, 1, 10'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.batch.max_queue_size); }});
  s.push_back({"bsp_max_export_batch_size", "--max-export-batch-size",
               {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE"}, "Batching", "Spans per export request", "N",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.batch.max_export_batch_size =
                     count_or_reject("bsp_max_export_batch_size", v, src, 1, 1'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.batch.max_export_batch_size); }});
  s.push_back({"bsp_schedule_delay", "--schedule-delay", {"OTEL_BSP_SCHEDULE_DELAY"}, "Batching",
               "Longest wait before a partial batch is sent", "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.batch.schedule_delay = checked_duration<milliseconds>(
                     "bsp_schedule_delay", v, src,
                     {milliseconds(1), milliseconds(1), hours(1), "send a batch as soon as a span is queued"});
                 o.schedule_delay_explicit = true;
               },
               [](const AppOptions& o) { return show_duration(o.batch.schedule_delay); }});
  s.push_back({"bsp_export_timeout", "--export-timeout", {"OTEL_BSP_EXPORT_TIMEOUT"}, "Batching",
               "Longest time one batch may take, retries included", "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.batch.export_timeout = checked_duration<milliseconds>(
                     "bsp_export_timeout", v, src,
                     {milliseconds(1), milliseconds(1), hours(24),
                      "no limit (OpenTelemetry): a batch is retried until its attempts are used up"});
                 if (o.batch.export_timeout.count() == 0) o.batch.export_timeout = kNoTimeLimit;
               },
               [](const AppOptions& o) { return show_time_limit(o.batch.export_timeout); }});
  s.push_back({"max_concurrent_exports", "--max-concurrent-exports", {"BTO_MAX_CONCURRENT_EXPORTS"},
               "Batching", "Export requests in flight at once when the collector is slow", "N",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.batch.max_concurrent_exports =
                     count_or_reject("max_concurrent_exports", v, src, 1, 64);
               },
               [](const AppOptions& o) { return std::to_string(o.batch.max_concurrent_exports); }});
  add_queue_settings(s);
  add_trace_settings(s);
  add_export_settings(s);
  add_source_settings(s);
  add_metrics_settings(s);
  add_resource_settings(s);
  return s;
}

}  // namespace

const std::vector<Setting>& all_settings() {
  static const std::vector<Setting> settings = build_settings();
  return settings;
}

std::string mask_secret(const std::string& value) {
  // Not even the length: a short token is easier to guess.
  return value.empty() ? value : std::string(kMaskedValue);
}

}  // namespace bto
