// Span metrics settings: the standard OTEL_METRICS_EXPORTER,
// OTEL_METRIC_EXPORT_INTERVAL/TIMEOUT and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
// (headers, TLS, compression and retries are the trace exporter's), plus the
// aggregation knobs and the route naming of HTTP spans. docs/metrics.md.

#include <fmt/format.h>

#include <charconv>

#include "common/errors.h"
#include "config/settings.h"
#include "config/setting_values.h"
#include "config/value_parsers.h"
#include "metrics/metrics_exporter.h"

namespace bto {
namespace {

std::string show_buckets(const std::vector<double>& buckets) {
  std::string out;
  for (const double b : buckets) {
    if (!out.empty()) out.push_back(',');
    out += fmt::format("{}", b);
  }
  return out;
}

}  // namespace

void add_metrics_settings(std::vector<Setting>& s) {
  const std::string group = "Metrics";
  s.push_back({"span_metrics", "--span-metrics", {"BTO_SPAN_METRICS"}, group,
               "Derive RED metrics from finished spans (before sampling): true or false", "BOOL", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.metrics.enabled = bool_or_reject("metrics.span_metrics", v, src);
               },
               [](const AppOptions& o) { return show_bool(o.metrics.enabled); }});
  s.push_back({"metrics_exporter", "--metrics-exporter", {"OTEL_METRICS_EXPORTER"}, group,
               "otlp, console, file (OTLP/JSON lines into --output, with the spans) or none; auto: otlp "
               "when spans go to OTLP or a metrics endpoint is set, else none",
               "NAME", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "otlp") {
                   o.metrics.exporter = MetricsExporterKind::kOtlp;
                 } else if (v == "console" || v == "logging") {
                   o.metrics.exporter = MetricsExporterKind::kConsole;
                 } else if (v == "none") {
                   o.metrics.exporter = MetricsExporterKind::kNone;
                 } else if (v == "file") {
                   o.metrics.exporter = MetricsExporterKind::kFile;
                 } else {
                   reject("metrics.metrics_exporter", src, v, "otlp, console, file or none");
                 }
               },
               [](const AppOptions& o) {
                 switch (o.metrics.exporter) {
                   case MetricsExporterKind::kOtlp: return std::string("otlp");
                   case MetricsExporterKind::kConsole: return std::string("console");
                   case MetricsExporterKind::kNone: return std::string("none");
                   case MetricsExporterKind::kFile: return std::string("file");
                   case MetricsExporterKind::kAuto: break;
                 }
                 return std::string("auto");
               }});
  s.push_back({"metrics_endpoint", "--metrics-endpoint",
               {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"}, group,
               "Collector URL for metrics. The _METRICS_ variable and the flag are used as is, "
               "OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/metrics appended; unset: the traces URL with "
               "/v1/metrics for /v1/traces",
               "URL", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 // gRPC also takes host:port (the protocol row is applied before this one).
                 if (o.otlp.protocol != OtlpProtocol::kGrpc && !v.starts_with("http://") &&
                     !v.starts_with("https://")) {
                   reject("metrics.metrics_endpoint", src, v, "a URL such as http://localhost:4318/v1/metrics");
                 }
                 o.metrics.endpoint = src == "env OTEL_EXPORTER_OTLP_ENDPOINT" && o.otlp.protocol != OtlpProtocol::kGrpc
                                          ? otlp_metrics_url_from_base(v)
                                          : v;
               },
               [](const AppOptions& o) {
                 return o.metrics.endpoint.empty() ? std::string("(next to the traces URL)") : redact_url(o.metrics.endpoint);
               }});
  s.push_back({"export_interval", "--metric-export-interval", {"OTEL_METRIC_EXPORT_INTERVAL"}, group,
               "Time between metric exports (bare number: milliseconds); a last export runs at exit",
               "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.metrics.export_interval = std::chrono::duration_cast<std::chrono::milliseconds>(duration_or_reject(
                     "metrics.export_interval", v, src,
                     {std::chrono::milliseconds(1), std::chrono::milliseconds(1), std::chrono::hours(24), nullptr,
                      "metrics would be exported without pause"}));
               },
               [](const AppOptions& o) { return show_duration(o.metrics.export_interval); }});
  s.push_back({"export_timeout", "--metric-export-timeout", {"OTEL_METRIC_EXPORT_TIMEOUT"}, group,
               "Longest time one metrics export may take, retries included (bare number: milliseconds)",
               "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.metrics.export_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(duration_or_reject(
                     "metrics.export_timeout", v, src,
                     {std::chrono::milliseconds(1), std::chrono::milliseconds(1), std::chrono::hours(24),
                      "no limit (OpenTelemetry): an export is retried until its attempts are used up"}));
                 if (o.metrics.export_timeout.count() == 0) o.metrics.export_timeout = kNoTimeLimit;
               },
               [](const AppOptions& o) { return show_time_limit(o.metrics.export_timeout); }});
  s.push_back({"cardinality_limit", "--metrics-cardinality-limit", {"BTO_METRICS_CARDINALITY_LIMIT"}, group,
               "Attribute sets per metric; beyond it measurements go to {otel.metric.overflow=true}", "N",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.metrics.cardinality_limit =
                     count_or_reject("metrics.cardinality_limit", v, src, 1, 1'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.metrics.cardinality_limit); }});
  s.push_back({"duration_buckets", "--metrics-duration-buckets", {"BTO_METRICS_DURATION_BUCKETS"}, group,
               "Histogram bucket bounds in seconds, comma-separated and increasing", "LIST", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 std::vector<double> bounds;
                 size_t start = 0;
                 while (start <= v.size()) {
                   size_t end = v.find(',', start);
                   if (end == std::string::npos) end = v.size();
                   const std::string item = trim_spaces(std::string_view(v).substr(start, end - start));
                   double bound = 0;
                   const auto result = std::from_chars(item.data(), item.data() + item.size(), bound);
                   if (item.empty() || result.ec != std::errc() || result.ptr != item.data() + item.size() ||
                       !(bound >= 0) || bound > 1e9 || (!bounds.empty() && bound <= bounds.back())) {
                     reject("metrics.duration_buckets", src, v,
                            "increasing numbers of seconds, e.g. 0.005,0.01,0.1,1,10");
                   }
                   bounds.push_back(bound);
                   start = end + 1;
                 }
                 o.metrics.duration_buckets = std::move(bounds);
               },
               [](const AppOptions& o) { return show_buckets(o.metrics.duration_buckets); }});
  s.push_back({"span_name_route", "--span-name-route", {"BTO_SPAN_NAME_ROUTE"}, "Spans",
               "Name http_request spans \"{method} {route}\" with ids collapsed (/users/{id}) and set "
               "http.route: true or false",
               "BOOL", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.handlers.span_name_route = bool_or_reject("spans.span_name_route", v, src);
               },
               [](const AppOptions& o) { return show_bool(o.handlers.span_name_route); }});
}

}  // namespace bto
