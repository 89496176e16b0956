// Span metrics sent over real OTLP/HTTP to the receiver, which decodes them
// with the official ExportMetricsServiceRequest schema (and insists on the
// canonical encoding): names, units, temporality, buckets, attribute sets and
// resource must arrive as aggregated.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "metrics/metrics_exporter.h"
#include "metrics/otlp_metrics_encoder.h"
#include "metrics/span_metrics.h"
#include "test_receiver.h"

namespace bto::testing {
namespace {

using std::chrono::milliseconds;

const ReceivedPoint* find_point(const ReceivedMetrics& r, const std::string& metric,
                                const std::map<std::string, std::string>& attributes) {
  for (const ReceivedPoint& p : r.points) {
    if (p.metric == metric && p.attributes == attributes) return &p;
  }
  return nullptr;
}

SpanRecord http_span(std::string_view method, std::string_view path, int64_t status, uint64_t duration_ns) {
  SpanRecord s;
  s.start_time_unix_ns = 1'700'000'000'000'000'000ULL;
  s.end_time_unix_ns = s.start_time_unix_ns + duration_ns;
  s.attributes.set_string("http.method", method);
  s.attributes.set_string("http.url", path);
  s.attributes.set_int("http.status_code", status);
  if (status >= 500) s.status = StatusCode::kError;
  return s;
}

ResourceInfo test_resource() {
  ResourceInfo resource;
  resource.attributes.set_string("service.name", "metrics-svc");
  resource.attributes.set_string("host.name", "h1");
  resource.scope_name = "bpftrace-exporter";
  resource.scope_version = "9.9.9";
  return resource;
}

OtlpOptions options_for(const TestReceiver& receiver) {
  OtlpOptions otlp;
  otlp.endpoint = receiver.metrics_url();
  otlp.retry.initial_backoff = milliseconds(10);
  return otlp;
}

void export_once(SpanMetrics& metrics, const OtlpOptions& otlp, SpanMetricsStats& stats, ExportResult expected) {
  MetricsSnapshot snapshot;
  metrics.collect(snapshot);
  auto exporter = create_otlp_metrics_exporter(test_resource(), create_otlp_http_metrics_transport(otlp, stats));
  EXPECT_EQ(exporter->export_metrics(snapshot, std::chrono::steady_clock::now() + std::chrono::seconds(10)), expected);
}

TEST(OtlpMetrics, receiver_decodes_histograms_counters_and_resource_with_the_official_schema) {
  TestReceiver receiver;
  SpanMetricsStats stats;
  SpanMetricsOptions options;
  options.derived.push_back({"db_query", "db.client.queries", DerivedMetric::Kind::kCounter, {"db.system"}, "{query}",
                             "Queries by system."});
  auto metrics = create_span_metrics(options, stats);
  for (uint64_t ms : {3, 5, 7, 30}) metrics->on_span_finished("http_request", http_span("GET", "/users/42?x=1", 200, ms * 1'000'000));
  metrics->on_span_finished("http_request", http_span("POST", "/orders/7", 503, 20'000'000'000ULL));
  SpanRecord tls;
  tls.start_time_unix_ns = 1;
  tls.end_time_unix_ns = 1 + 2'000'000;
  tls.status = StatusCode::kError;
  metrics->on_span_finished("tls_handshake", tls);
  SpanRecord db;
  db.start_time_unix_ns = 1;
  db.end_time_unix_ns = 2;
  db.attributes.set_string("db.system", "postgresql");
  metrics->on_span_finished("db_query", db);
  metrics->on_span_finished("db_query", db);

  export_once(*metrics, options_for(receiver), stats, ExportResult::kSuccess);
  const ReceivedMetrics r = receiver.received_metrics();
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  ASSERT_EQ(r.accepted, 1);
  // http: GET, POST; bpftrace.spans and bpftrace.span.duration: tls_handshake, db_query; db.client.queries.
  ASSERT_EQ(r.points.size(), 7u);
  EXPECT_EQ(stats.data_points_exported, 7u);

  const ReceivedPoint* get = find_point(r, "http.server.request.duration",
                                        {{"http.request.method", "string:GET"},
                                         {"http.response.status_code", "int:200"},
                                         {"http.route", "string:/users/{id}"}});
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->kind, "histogram");
  EXPECT_EQ(get->unit, "s");
  EXPECT_EQ(get->temporality, 2);  // AGGREGATION_TEMPORALITY_CUMULATIVE
  EXPECT_EQ(get->count, 4u);
  EXPECT_EQ(get->bounds, (std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}));
  EXPECT_EQ(get->bucket_counts, (std::vector<uint64_t>{2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_NEAR(std::stod(get->sum), 0.045, 1e-12);
  EXPECT_EQ(std::stod(get->min), 0.003);
  EXPECT_EQ(std::stod(get->max), 0.03);
  EXPECT_GT(get->start, 0u);
  EXPECT_GE(get->time, get->start);
  EXPECT_EQ(get->resource.at("service.name"), "string:metrics-svc");
  EXPECT_EQ(get->scope_name, "bpftrace-exporter");

  const ReceivedPoint* post = find_point(r, "http.server.request.duration",
                                         {{"http.request.method", "string:POST"},
                                          {"http.response.status_code", "int:503"},
                                          {"http.route", "string:/orders/{id}"},
                                          {"error.type", "string:503"}});
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(post->bucket_counts.back(), 1u);  // 20 s: above the last bound

  const ReceivedPoint* count = find_point(r, "bpftrace.spans",
                                          {{"bpftrace.family", "string:tls_handshake"}, {"otel.status_code", "string:ERROR"}});
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->kind, "sum");
  EXPECT_TRUE(count->is_monotonic);
  EXPECT_EQ(count->temporality, 2);
  EXPECT_EQ(count->value, "1");
  EXPECT_EQ(count->unit, "{span}");
  const ReceivedPoint* duration = find_point(r, "bpftrace.span.duration",
                                             {{"bpftrace.family", "string:tls_handshake"}, {"otel.status_code", "string:ERROR"}});
  ASSERT_NE(duration, nullptr);
  EXPECT_EQ(duration->count, 1u);
  EXPECT_EQ(duration->bucket_counts.front(), 1u);

  const ReceivedPoint* db_count = find_point(r, "db.client.queries", {{"db.system", "string:postgresql"}});
  ASSERT_NE(db_count, nullptr);
  EXPECT_EQ(db_count->value, "2");
  EXPECT_EQ(db_count->unit, "{query}");
  EXPECT_EQ(db_count->description, "Queries by system.");
  // db_query is not http_request: it also has the generic counter and histogram.
  EXPECT_NE(find_point(r, "bpftrace.spans", {{"bpftrace.family", "string:db_query"}}), nullptr);
}

TEST(OtlpMetrics, one_resource_metrics_per_process) {
  TestReceiver receiver;
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  auto make = [](int64_t pid, const char* service) {
    auto r = std::make_unique<Resource>();
    r->pid = pid;
    r->attributes.set_string("service.name", service);
    r->attributes.set_int("process.pid", pid);
    r->arrays.push_back({"process.command_args", {"/srv/app", "--id", std::to_string(pid)}});
    return ResourceRef(std::move(r));
  };
  const ResourceRef a = make(11, "orders");
  const ResourceRef b = make(22, "payments");
  for (const ResourceRef* r : {&a, &a, &b}) {
    SpanRecord span = http_span("GET", "/x", 200, 1'000'000);
    span.resource = *r;
    metrics->on_span_finished("http_request", span);
  }
  metrics->on_span_finished("http_request", http_span("GET", "/x", 200, 1'000'000));
  export_once(*metrics, options_for(receiver), stats, ExportResult::kSuccess);
  const ReceivedMetrics r = receiver.received_metrics();
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  ASSERT_EQ(r.points.size(), 3u);
  std::map<std::string, std::string> count_by_service;
  for (const ReceivedPoint& p : r.points) {
    count_by_service[p.resource.at("service.name")] = std::to_string(p.count);
    if (p.resource.at("service.name") == "string:metrics-svc") {
      EXPECT_EQ(p.resource.count("process.pid"), 0u);
    } else {
      EXPECT_EQ(p.resource.at("process.command_args"), "array:/srv/app" + std::string(1, '\0') + "--id" +
                                                             std::string(1, '\0') +
                                                             p.resource.at("process.pid").substr(4));
    }
  }
  EXPECT_EQ(count_by_service, (std::map<std::string, std::string>{
                                  {"string:orders", "2"}, {"string:payments", "1"}, {"string:metrics-svc", "1"}}));
}

TEST(OtlpMetrics, overflow_set_and_gzip_reach_the_receiver) {
  TestReceiver receiver;
  SpanMetricsStats stats;
  SpanMetricsOptions options;
  options.cardinality_limit = 3;
  auto metrics = create_span_metrics(options, stats);
  for (int i = 0; i < 5; ++i) {
    metrics->on_span_finished("http_request", http_span("GET", "/r" + std::string(1, static_cast<char>('a' + i)), 200, 1000));
  }
  OtlpOptions otlp = options_for(receiver);
  otlp.compression = OtlpCompression::kGzip;
  export_once(*metrics, otlp, stats, ExportResult::kSuccess);
  const ReceivedMetrics r = receiver.received_metrics();
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.content_encodings, std::vector<std::string>{"gzip"});
  ASSERT_EQ(r.points.size(), 3u);
  const ReceivedPoint* overflow = find_point(r, "http.server.request.duration", {{"otel.metric.overflow", "bool:true"}});
  ASSERT_NE(overflow, nullptr);
  EXPECT_EQ(overflow->count, 3u);
  EXPECT_EQ(stats.overflow_measurements, 3u);
}

TEST(OtlpMetrics, cumulative_exports_repeat_every_set_with_growing_counts) {
  TestReceiver receiver;
  SpanMetricsStats stats;
  auto metrics = create_span_metrics(SpanMetricsOptions{}, stats);
  const OtlpOptions otlp = options_for(receiver);
  metrics->on_span_finished("http_request", http_span("GET", "/a", 200, 1000));
  export_once(*metrics, otlp, stats, ExportResult::kSuccess);
  metrics->on_span_finished("http_request", http_span("GET", "/a", 200, 1000));
  export_once(*metrics, otlp, stats, ExportResult::kSuccess);
  const ReceivedMetrics r = receiver.received_metrics();
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_EQ(r.points[0].count, 1u);
  EXPECT_EQ(r.points[1].count, 2u);
  EXPECT_EQ(r.points[0].start, r.points[1].start);
  EXPECT_LE(r.points[0].time, r.points[1].time);
}

TEST(OtlpMetrics, permanent_failure_is_counted_and_not_retried) {
  TestReceiver receiver;
  SpanMetricsStats stats;
  auto metrics = create_span_metrics(SpanMetricsOptions{}, stats);
  metrics->on_span_finished("http_request", http_span("GET", "/a", 200, 1000));
  OtlpOptions otlp = options_for(receiver);
  otlp.endpoint = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/not-metrics";  // 404: permanent
  export_once(*metrics, otlp, stats, ExportResult::kPermanent);
  EXPECT_EQ(stats.export_failures, 1u);
  EXPECT_EQ(stats.export_requests, 1u);  // a 404 is not retried
  EXPECT_EQ(stats.data_points_exported, 0u);
}

}  // namespace
}  // namespace bto::testing
