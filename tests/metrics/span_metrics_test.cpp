#include "metrics/span_metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics_exporter.h"
#include "spans/spans_test_util.h"

namespace bto {
namespace {

using testing::Harness;
using testing::kMono0;
using testing::kMs;
using testing::TestEvent;

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ULL;

SpanRecord span_of(uint64_t duration_ns, StatusCode status = StatusCode::kUnset) {
  SpanRecord s;
  s.start_time_unix_ns = kT0;
  s.end_time_unix_ns = kT0 + duration_ns;
  s.status = status;
  return s;
}

SpanRecord legacy_http(std::string_view method, std::string_view url, int64_t code, uint64_t ns) {
  SpanRecord s = span_of(ns, code >= 500 ? StatusCode::kError : StatusCode::kUnset);
  s.attributes.set_string("http.method", method);
  s.attributes.set_string("http.url", url);
  s.attributes.set_int("http.status_code", code);
  return s;
}

SpanRecord stable_http(std::string_view method, std::string_view path, int64_t code, uint64_t ns) {
  SpanRecord s = span_of(ns, code >= 500 ? StatusCode::kError : StatusCode::kUnset);
  s.attributes.set_string("http.request.method", method);
  s.attributes.set_string("url.path", path);
  s.attributes.set_int("http.response.status_code", code);
  return s;
}

// "key=value" per attribute, ints and bools marked, sorted: easy to compare.
std::map<std::string, std::string> attrs(const MetricPoint& p) {
  std::map<std::string, std::string> out;
  for (const Attribute& a : p.attributes.items()) {
    switch (a.type) {
      case AttrType::kString: out[std::string(a.key)] = a.string_value; break;
      case AttrType::kInt: out[std::string(a.key)] = "int:" + std::to_string(a.int_value); break;
      case AttrType::kBool: out[std::string(a.key)] = a.bool_value ? "bool:true" : "bool:false"; break;
      case AttrType::kDouble: out[std::string(a.key)] = "double:" + std::to_string(a.double_value); break;
    }
  }
  return out;
}

// The metrics of spans that name no process (the exporter's own resource).
const std::vector<MetricStream>& own(const MetricsSnapshot& s) {
  static const std::vector<MetricStream> none;
  for (const ResourceMetrics& r : s.resources) {
    if (!r.resource) return r.metrics;
  }
  return none;
}

const MetricStream* metric(const MetricsSnapshot& s, std::string_view name) {
  for (const MetricStream& m : own(s)) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const MetricPoint* point(const MetricsSnapshot& s, std::string_view name, const std::map<std::string, std::string>& a) {
  const MetricStream* m = metric(s, name);
  if (m == nullptr) return nullptr;
  for (const MetricPoint& p : m->points) {
    if (attrs(p) == a) return &p;
  }
  return nullptr;
}

MetricsSnapshot collect(SpanMetrics& metrics) {
  MetricsSnapshot snapshot;
  metrics.collect(snapshot);
  return snapshot;
}

TEST(SpanMetrics, http_duration_histogram_uses_semconv_buckets) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  // 5 ms sits on a bound: explicit buckets are (previous, bound].
  for (uint64_t ms : {1, 5, 6, 100, 10'000, 10'001}) {
    metrics->on_span_finished("http_request", legacy_http("GET", "/users/7", 200, ms * 1'000'000));
  }
  const MetricsSnapshot s = collect(*metrics);
  ASSERT_EQ(own(s).size(), 1u);  // families seen: http_request only
  const MetricStream& m = own(s)[0];
  EXPECT_EQ(m.name, "http.server.request.duration");
  EXPECT_EQ(m.unit, "s");
  EXPECT_EQ(m.kind, MetricKind::kHistogram);
  ASSERT_EQ(m.bounds.size(), 14u);
  ASSERT_EQ(m.points.size(), 1u);
  const MetricPoint& p = m.points[0];
  EXPECT_EQ(attrs(p), (std::map<std::string, std::string>{
                          {"http.request.method", "GET"}, {"http.response.status_code", "int:200"}, {"http.route", "/users/{id}"}}));
  EXPECT_EQ(p.count, 6u);
  EXPECT_EQ(p.bucket_counts, (std::vector<uint64_t>{2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_DOUBLE_EQ(p.min, 0.001);
  EXPECT_DOUBLE_EQ(p.max, 10.001);
  EXPECT_NEAR(p.sum, 20.113, 1e-9);
  EXPECT_GT(p.start_time_unix_ns, 0u);
  EXPECT_GE(s.time_unix_ns, p.start_time_unix_ns);
  EXPECT_EQ(stats.spans_observed, 6u);
  EXPECT_EQ(stats.series, 1u);
}

TEST(SpanMetrics, legacy_and_stable_attribute_names_land_in_the_same_set) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  metrics->on_span_finished("http_request", legacy_http("GET", "/users/1?q", 404, 1000));
  metrics->on_span_finished("http_request", stable_http("GET", "/users/2", 404, 1000));
  SpanRecord full = legacy_http("GET", "http://h:8080/users/3#x", 404, 1000);
  metrics->on_span_finished("http_request", full);
  SpanRecord target = span_of(1000);
  target.attributes.set_string("http.method", "GET");
  target.attributes.set_string("http.target", "/users/4");
  target.attributes.set_string("http.status_code", "404");  // a string code is read too
  metrics->on_span_finished("http_request", target);
  const MetricsSnapshot s = collect(*metrics);
  ASSERT_EQ(own(s).at(0).points.size(), 1u);
  EXPECT_EQ(own(s)[0].points[0].count, 4u);
  EXPECT_EQ(attrs(own(s)[0].points[0]).at("http.route"), "/users/{id}");
}

TEST(SpanMetrics, server_errors_carry_error_type_and_odd_methods_become_other) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  metrics->on_span_finished("http_request", legacy_http("POST", "/pay", 503, 1000));
  metrics->on_span_finished("http_request", legacy_http("BREW", "/pot", 418, 1000));
  SpanRecord routed = legacy_http("GET", "/users/1", 200, 1000);
  routed.attributes.set_string("http.route", "/users/:id");  // a given route wins over the URI
  metrics->on_span_finished("http_request", routed);
  SpanRecord timed_out = span_of(1000, StatusCode::kError);
  timed_out.attributes.set_string("http.method", "GET");
  timed_out.attributes.set_string("http.url", "/slow");
  timed_out.attributes.set_reserved_string("bpftrace_otel.incomplete", "timeout");
  metrics->on_span_finished("http_request", timed_out);
  const MetricsSnapshot s = collect(*metrics);
  const std::string name(kHttpServerDuration);
  EXPECT_NE(point(s, name, {{"http.request.method", "POST"}, {"http.response.status_code", "int:503"},
                            {"http.route", "/pay"}, {"error.type", "503"}}), nullptr);
  EXPECT_NE(point(s, name, {{"http.request.method", "_OTHER"}, {"http.response.status_code", "int:418"},
                            {"http.route", "/pot"}}), nullptr);
  EXPECT_NE(point(s, name, {{"http.request.method", "GET"}, {"http.response.status_code", "int:200"},
                            {"http.route", "/users/:id"}}), nullptr);
  EXPECT_NE(point(s, name, {{"http.request.method", "GET"}, {"http.route", "/slow"}, {"error.type", "timeout"}}),
            nullptr);
}

TEST(SpanMetrics, other_families_get_a_counter_and_a_histogram_by_family_and_status) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  metrics->on_span_finished("tls_handshake", span_of(2 * kMs));
  metrics->on_span_finished("tls_handshake", span_of(3 * kMs));
  metrics->on_span_finished("tls_handshake", span_of(30 * kMs, StatusCode::kError));
  metrics->on_span_finished("net_dial", span_of(1 * kMs, StatusCode::kOk));
  const MetricsSnapshot s = collect(*metrics);
  ASSERT_EQ(own(s).size(), 2u);
  const MetricPoint* ok = point(s, "bpftrace.spans", {{"bpftrace.family", "tls_handshake"}});
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->count, 2u);
  EXPECT_EQ(metric(s, "bpftrace.spans")->kind, MetricKind::kCounter);
  EXPECT_EQ(metric(s, "bpftrace.spans")->unit, "{span}");
  const MetricPoint* failed =
      point(s, "bpftrace.spans", {{"bpftrace.family", "tls_handshake"}, {"otel.status_code", "ERROR"}});
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->count, 1u);
  const MetricPoint* dial =
      point(s, "bpftrace.span.duration", {{"bpftrace.family", "net_dial"}, {"otel.status_code", "OK"}});
  ASSERT_NE(dial, nullptr);
  EXPECT_EQ(dial->count, 1u);
  EXPECT_EQ(dial->bucket_counts.front(), 1u);
  EXPECT_EQ(stats.series, 3u);
}

TEST(SpanMetrics, cardinality_limit_sends_new_sets_to_the_overflow_set) {
  SpanMetricsStats stats;
  SpanMetricsOptions options;
  options.cardinality_limit = 5;  // 4 real sets + the overflow set
  auto metrics = create_span_metrics(options, stats);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10; ++i) {
      metrics->on_span_finished("http_request", legacy_http("GET", "/p" + std::string(1, static_cast<char>('a' + i)), 200, 1000));
    }
  }
  // Sets admitted before the limit keep their own points.
  metrics->on_span_finished("http_request", legacy_http("GET", "/pa", 200, 1000));
  const MetricsSnapshot s = collect(*metrics);
  const MetricStream* m = metric(s, kHttpServerDuration);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->points.size(), 5u);
  const MetricPoint* overflow = point(s, kHttpServerDuration, {{"otel.metric.overflow", "bool:true"}});
  ASSERT_NE(overflow, nullptr);
  EXPECT_EQ(overflow->count, 12u);  // (10 - 4) sets x 2 rounds
  EXPECT_EQ(stats.overflow_measurements, 12u);
  const MetricPoint* first = point(s, kHttpServerDuration,
                                   {{"http.request.method", "GET"}, {"http.response.status_code", "int:200"}, {"http.route", "/pa"}});
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->count, 3u);
  uint64_t total = 0;
  for (const MetricPoint& p : m->points) total += p.count;
  EXPECT_EQ(total, 21u);
  EXPECT_EQ(stats.series, 5u);
}

TEST(SpanMetrics, cardinality_limit_is_per_metric) {
  SpanMetricsStats stats;
  SpanMetricsOptions options;
  options.cardinality_limit = 2;
  auto metrics = create_span_metrics(options, stats);
  metrics->on_span_finished("http_request", legacy_http("GET", "/a", 200, 1000));
  metrics->on_span_finished("http_request", legacy_http("GET", "/b", 200, 1000));
  metrics->on_span_finished("job", span_of(1000));
  const MetricsSnapshot s = collect(*metrics);
  EXPECT_EQ(metric(s, kHttpServerDuration)->points.size(), 2u);  // /a + overflow
  EXPECT_EQ(metric(s, kSpanCount)->points.size(), 1u);           // job: its own limit
  EXPECT_EQ(stats.overflow_measurements, 1u);
}

TEST(SpanMetrics, derived_metrics_read_their_attributes_from_the_span) {
  SpanMetricsStats stats;
  SpanMetricsOptions options;
  options.derived.push_back({"db_query", "db.client.operation.duration", DerivedMetric::Kind::kHistogram,
                             {"db.system", "db.operation"}, "ms", "Query time."});
  options.derived.push_back({"db_query", "db.client.queries", DerivedMetric::Kind::kCounter, {"db.system"}, "", ""});
  options.derived.push_back({"other_family", "never.seen", DerivedMetric::Kind::kCounter, {}, "", ""});
  auto metrics = create_span_metrics(options, stats);
  SpanRecord select = span_of(7 * kMs);
  select.attributes.set_string("db.system", "postgresql");
  select.attributes.set_string("db.operation", "SELECT");
  select.attributes.set_int("rows", 3);
  metrics->on_span_finished("db_query", select);
  metrics->on_span_finished("db_query", select);
  SpanRecord bare = span_of(1 * kMs);
  bare.attributes.set_int("db.system", 5);  // types are kept
  metrics->on_span_finished("db_query", bare);
  const MetricsSnapshot s = collect(*metrics);
  EXPECT_EQ(metric(s, "never.seen"), nullptr);
  const MetricStream* h = metric(s, "db.client.operation.duration");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->unit, "ms");
  EXPECT_EQ(h->description, "Query time.");
  EXPECT_DOUBLE_EQ(h->bounds.front(), 5.0);  // the second buckets, in milliseconds
  EXPECT_DOUBLE_EQ(h->bounds.back(), 10000.0);
  const MetricPoint* p = point(s, "db.client.operation.duration", {{"db.system", "postgresql"}, {"db.operation", "SELECT"}});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->count, 2u);
  EXPECT_DOUBLE_EQ(p->sum, 14.0);
  EXPECT_EQ(p->bucket_counts[1], 2u);  // (5, 10] ms
  const MetricPoint* c = point(s, "db.client.queries", {{"db.system", "int:5"}});
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->count, 1u);
  EXPECT_EQ(metric(s, "db.client.queries")->kind, MetricKind::kCounter);
  // The family still has the built-in metrics.
  EXPECT_EQ(point(s, kSpanCount, {{"bpftrace.family", "db_query"}})->count, 3u);
}

TEST(SpanMetrics, sampled_out_spans_are_still_counted) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  CorrelatorOptions options;
  options.sampler.kind = SamplerKind::kAlwaysOff;
  Harness h(options);
  h.correlator->set_observer(metrics.get());
  for (int id = 1; id <= 3; ++id) {
    h.feed(TestEvent("http_request_start",
                     {{"request_id", id}, {"method", "GET"}, {"uri", "/users/" + std::to_string(id)},
                      {"timestamp", kMono0 + 10 * kMs}}));
    h.feed(TestEvent("http_request_end", {{"request_id", id}, {"status_code", 200}, {"timestamp", kMono0 + 12 * kMs}}));
  }
  EXPECT_EQ(h.emitted(), 0u);
  EXPECT_EQ(h.stats.spans_sampled_out, 3u);
  const MetricsSnapshot s = collect(*metrics);
  const MetricPoint* p = point(s, kHttpServerDuration,
                               {{"http.request.method", "GET"}, {"http.response.status_code", "int:200"}, {"http.route", "/users/{id}"}});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->count, 3u);
  EXPECT_DOUBLE_EQ(p->sum, 0.006);
}

TEST(SpanMetrics, http_handler_names_spans_by_route_when_asked) {
  HandlerOptions handler_options;
  handler_options.span_name_route = true;
  Harness h({}, handler_options);
  h.feed(TestEvent("http_request_start",
                   {{"request_id", 1}, {"method", "GET"}, {"uri", "/users/42/orders?page=2"}, {"timestamp", kMono0}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}, {"status_code", 200}, {"timestamp", kMono0 + kMs}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "GET /users/{id}/orders");
  const Attribute* route = h.span(0).attributes.find("http.route");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->string_value, "/users/{id}/orders");
  EXPECT_EQ(h.span(0).attributes.find("http.url")->string_value, "/users/42/orders?page=2");  // kept

  Harness plain;  // default: the seed's names
  plain.feed(TestEvent("http_request_start", {{"request_id", 1}, {"method", "GET"}, {"uri", "/users/42"}, {"timestamp", kMono0}}));
  plain.feed(TestEvent("http_request_end", {{"request_id", 1}, {"status_code", 200}, {"timestamp", kMono0 + kMs}}));
  ASSERT_EQ(plain.emitted(), 1u);
  EXPECT_EQ(plain.span(0).name, "HTTP GET /users/42");
  EXPECT_EQ(plain.span(0).attributes.find("http.route"), nullptr);
}

TEST(SpanMetrics, collections_are_cumulative_and_reuse_the_snapshot) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  metrics->on_span_finished("job", span_of(kMs));
  MetricsSnapshot s;
  metrics->collect(s);
  const uint64_t start = own(s).at(0).points.at(0).start_time_unix_ns;
  metrics->on_span_finished("job", span_of(kMs));
  metrics->collect(s);
  EXPECT_EQ(own(s).at(0).points.at(0).count, 2u);
  EXPECT_EQ(own(s).at(0).points.at(0).start_time_unix_ns, start);
  EXPECT_EQ(s.data_points(), 2u);  // counter + histogram
}

TEST(SpanMetrics, concurrent_collection_sees_consistent_counts) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  constexpr int kSpans = 20000;
  std::thread reader([&] {
    for (int i = 0; i < kSpans; ++i) metrics->on_span_finished("http_request", legacy_http("GET", "/x", 200, 1000));
  });
  MetricsSnapshot s;
  uint64_t last = 0;
  for (int i = 0; i < 200; ++i) {
    metrics->collect(s);
    if (s.resources.empty()) continue;
    const MetricPoint& p = own(s)[0].points[0];
    uint64_t buckets = 0;
    for (uint64_t c : p.bucket_counts) buckets += c;
    EXPECT_EQ(buckets, p.count);
    EXPECT_GE(p.count, last);
    last = p.count;
  }
  reader.join();
  metrics->collect(s);
  EXPECT_EQ(own(s)[0].points[0].count, static_cast<uint64_t>(kSpans));
}

ResourceRef process(int64_t pid, const std::string& service) {
  auto r = std::make_unique<Resource>();
  r->pid = pid;
  r->attributes.set_string("service.name", service);
  return ResourceRef(std::move(r));
}

const ResourceMetrics* of(const MetricsSnapshot& s, const Resource* r) {
  for (const ResourceMetrics& m : s.resources) {
    if (m.resource.get() == r) return &m;
  }
  return nullptr;
}

TEST(SpanMetrics, each_process_resource_has_its_own_series) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  const ResourceRef a = process(1, "a");
  const ResourceRef b = process(2, "b");
  for (int i = 0; i < 3; ++i) {
    SpanRecord span = legacy_http("GET", "/x", 200, kMs);
    span.resource = a;
    metrics->on_span_finished("http_request", span);
  }
  SpanRecord job = span_of(kMs);
  job.resource = b;
  metrics->on_span_finished("job", job);
  metrics->on_span_finished("http_request", legacy_http("GET", "/x", 200, kMs));  // names no process
  MetricsSnapshot s;
  metrics->collect(s);
  ASSERT_EQ(s.resources.size(), 3u);
  EXPECT_FALSE(s.resources[0].resource) << "the exporter's own resource comes first";
  ASSERT_NE(of(s, a.get()), nullptr);
  ASSERT_NE(of(s, b.get()), nullptr);
  EXPECT_EQ(of(s, a.get())->metrics.size(), 1u);
  EXPECT_EQ(of(s, a.get())->metrics[0].points[0].count, 3u);
  EXPECT_EQ(of(s, b.get())->metrics.size(), 2u);  // bpftrace.spans + bpftrace.span.duration
  EXPECT_EQ(own(s).at(0).points[0].count, 1u);
  EXPECT_EQ(s.data_points(), 4u);
  EXPECT_EQ(stats.resources, 3u);
  std::string text;
  format_metrics_text(s, text);
  EXPECT_NE(text.find(" process 1 (a)\n  http.server.request.duration"), std::string::npos) << text;
}

TEST(SpanMetrics, an_exited_process_is_exported_once_more_then_forgotten) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  ResourceRef cache_entry = process(7, "gone-soon");
  {
    SpanRecord span = span_of(kMs);
    span.resource = cache_entry;
    metrics->on_span_finished("job", span);
  }  // the span is released (exported)
  MetricsSnapshot s;
  metrics->collect(s);
  ASSERT_NE(of(s, cache_entry.get()), nullptr);
  metrics->collect(s);
  ASSERT_NE(of(s, cache_entry.get()), nullptr) << "still in the cache: still exported";
  const Resource* key = cache_entry.get();
  cache_entry.reset();  // the process exited: the cache let go
  metrics->collect(s);
  ASSERT_EQ(s.resources.size(), 1u) << "its last totals, once";
  EXPECT_EQ(s.resources[0].resource.get(), key);
  EXPECT_EQ(s.resources[0].metrics[0].points[0].count, 1u);
  EXPECT_EQ(stats.resources, 1u);  // only the exporter's own left
  metrics->collect(s);
  EXPECT_TRUE(s.resources.empty());
  EXPECT_EQ(stats.series, 0u);
}

TEST(SpanMetrics, resources_beyond_the_bound_count_under_the_exporters_own) {
  SpanMetricsStats stats;
  SpanMetricsOptions options;
  options.max_resources = 2;
  auto metrics = create_span_metrics(options, stats);
  std::vector<ResourceRef> processes;
  for (int64_t pid = 1; pid <= 5; ++pid) {
    processes.push_back(process(pid, "p" + std::to_string(pid)));
    SpanRecord span = span_of(kMs);
    span.resource = processes.back();
    metrics->on_span_finished("job", span);
  }
  MetricsSnapshot s;
  metrics->collect(s);
  EXPECT_EQ(s.resources.size(), 3u);  // two processes and the exporter's own
  EXPECT_EQ(stats.resource_overflow_measurements, 3u);
  EXPECT_EQ(own(s).at(0).points[0].count, 3u);
}

TEST(SpanMetrics, validation_names_the_problem) {
  SpanMetricsOptions o;
  EXPECT_EQ(validate_span_metrics_options(o), "");
  o.cardinality_limit = 0;
  EXPECT_NE(validate_span_metrics_options(o), "");
  o = {};
  o.duration_buckets = {0.1, 0.1};
  EXPECT_NE(validate_span_metrics_options(o).find("increasing"), std::string::npos);
  o = {};
  o.derived.push_back({"f", "m", DerivedMetric::Kind::kHistogram, {}, "By", ""});
  EXPECT_NE(validate_span_metrics_options(o).find("unit"), std::string::npos);
  o.derived[0].unit = "ms";
  EXPECT_EQ(validate_span_metrics_options(o), "");
  o.derived[0].name = "bpftrace.spans";
  EXPECT_NE(validate_span_metrics_options(o).find("built-in"), std::string::npos);
  o.derived[0].name = "q";
  o.derived.push_back(o.derived[0]);
  EXPECT_NE(validate_span_metrics_options(o).find("twice"), std::string::npos);
}

TEST(MetricsExporter, metrics_urls_follow_the_otlp_rules) {
  EXPECT_EQ(otlp_metrics_url_from_base("http://c:4318"), "http://c:4318/v1/metrics");
  EXPECT_EQ(otlp_metrics_url_from_base("http://c:4318/base/"), "http://c:4318/base/v1/metrics");
  EXPECT_EQ(otlp_metrics_url_from_traces("http://c:4318/v1/traces"), "http://c:4318/v1/metrics");
  EXPECT_EQ(otlp_metrics_url_from_traces("https://c/base/v1/traces"), "https://c/base/v1/metrics");
  EXPECT_EQ(otlp_metrics_url_from_traces("https://c:1/custom/path"), "https://c:1/v1/metrics");
}

TEST(MetricsExporter, console_table_lists_every_point) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  metrics->on_span_finished("http_request", legacy_http("GET", "/users/1", 200, 20 * kMs));
  metrics->on_span_finished("job", span_of(kMs, StatusCode::kError));
  MetricsSnapshot s;
  metrics->collect(s);
  std::string text;
  format_metrics_text(s, text);
  EXPECT_NE(text.find("http.server.request.duration (histogram, s)"), std::string::npos) << text;
  EXPECT_NE(text.find("{http.request.method=GET, http.response.status_code=200, http.route=/users/{id}} count=1 "
                      "mean=0.02 min=0.02 max=0.02 p50<=0.025 p99<=0.025"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bpftrace.spans (counter, {span})\n    {bpftrace.family=job, otel.status_code=ERROR} 1\n"),
            std::string::npos)
      << text;
}

TEST(MetricsExporter, reader_exports_periodically_and_once_more_at_shutdown) {
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  auto reader = start_metrics_reader(*metrics, create_console_metrics_exporter(LocalOutput::from_fd(fileno(out), "tmp")),
                                     std::chrono::milliseconds(20),
                                     std::chrono::seconds(1));
  metrics->on_span_finished("job", span_of(kMs));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  metrics->on_span_finished("late", span_of(kMs));  // only the final export can carry it
  reader->shutdown(std::chrono::seconds(2));
  reader->shutdown(std::chrono::seconds(2));  // idempotent
  std::rewind(out);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, out)) > 0;) text.append(buffer, n);
  std::fclose(out);
  size_t tables = 0;
  for (size_t at = 0; (at = text.find("metrics at ", at)) != std::string::npos; ++at) ++tables;
  EXPECT_GE(tables, 2u) << text;
  EXPECT_NE(text.rfind("bpftrace.family=late"), std::string::npos) << text;
  EXPECT_GT(text.rfind("bpftrace.family=late"), text.rfind("metrics at "));  // in the last table
}

}  // namespace
}  // namespace bto
