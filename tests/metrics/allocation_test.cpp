// Recording a span into an attribute set that already exists must not touch
// the heap: this binary counts every global operator new.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "allocation_counter.h"
#include "metrics/span_metrics.h"

namespace bto {
namespace {

TEST(SpanMetricsAllocation, steady_state_records_without_allocating) {
#if !defined(BTO_COUNTS_ALLOCATIONS)
  GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
#endif
  SpanMetricsStats stats;
  SpanMetricsOptions options;
  options.cardinality_limit = 8;  // some of the shapes below overflow
  options.derived.push_back({"db_query", "db.client.queries", DerivedMetric::Kind::kCounter, {"db.system", "rows"}, "", ""});
  auto metrics = create_span_metrics(options, stats);

  std::vector<SpanRecord> spans;
  const char* const uris[] = {"/users/1", "/users/2?x=1", "/orders/123e4567-e89b-12d3-a456-426614174000/items",
                              "http://host:80/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/0123456789",
                              "/p/a", "/p/b", "/p/c", "/p/d", "/p/e", "/p/f", "/p/g"};
  for (const char* uri : uris) {
    SpanRecord s;
    s.start_time_unix_ns = 1;
    s.end_time_unix_ns = 1 + 12'345'678;
    s.attributes.set_string("http.method", "GET");
    s.attributes.set_string("http.url", uri);
    s.attributes.set_int("http.status_code", 503);
    s.status = StatusCode::kError;
    spans.push_back(std::move(s));
  }
  SpanRecord db;
  db.attributes.set_string("db.system", "mysql");
  db.attributes.set_int("rows", 4);
  SpanRecord job;
  job.status = StatusCode::kOk;

  const auto feed = [&] {
    for (const SpanRecord& s : spans) metrics->on_span_finished("http_request", s);
    metrics->on_span_finished("db_query", db);
    metrics->on_span_finished("job", job);
  };
  feed();  // creates every attribute set (and the overflow sets)
  const uint64_t before = testing::allocations();
  for (int i = 0; i < 1000; ++i) feed();
  EXPECT_EQ(testing::allocations() - before, 0u);
  EXPECT_GT(stats.overflow_measurements, 1000u);
  EXPECT_EQ(stats.spans_observed, 1001u * (spans.size() + 2));

  // Collecting into a reused snapshot settles too.
  MetricsSnapshot snapshot;
  metrics->collect(snapshot);
  metrics->collect(snapshot);
  const uint64_t before_collect = testing::allocations();
  metrics->collect(snapshot);
  EXPECT_EQ(testing::allocations() - before_collect, 0u);
}

}  // namespace
}  // namespace bto
