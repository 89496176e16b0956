// Span metrics for real: bpftrace traces the demo server under load, the
// exporter sends OTLP metrics to the test receiver (official schema), and the
// last cumulative http.server.request.duration must count every request the
// load generator made, per normalised route.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e_fixture.h"
#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

struct HttpPoint {
  std::string method, route, error_type;
  int64_t status = 0;
  uint64_t count = 0;
};

struct LastExport {
  int accepted = 0;
  std::vector<std::string> errors;
  uint64_t time = 0;
  std::vector<HttpPoint> http;     // http.server.request.duration of the last export
  std::map<std::string, uint64_t> span_counts;  // bpftrace.spans by family, last export
};

// A point attribute's value ("type:value" -> value); "" when absent.
std::string value_of(const std::map<std::string, std::string>& attributes, const std::string& key) {
  const auto it = attributes.find(key);
  return it == attributes.end() ? "" : it->second.substr(it->second.find(':') + 1);
}

LastExport last_export(TestReceiver& receiver) {
  const bto::testing::ReceivedMetrics received = receiver.received_metrics();
  LastExport out;
  out.accepted = received.accepted;
  out.errors = received.errors;
  for (const bto::testing::ReceivedPoint& p : received.points) out.time = std::max(out.time, p.time);
  for (const bto::testing::ReceivedPoint& p : received.points) {
    if (p.time != out.time) continue;
    if (p.metric == "http.server.request.duration") {
      HttpPoint point;
      point.method = value_of(p.attributes, "http.request.method");
      point.route = value_of(p.attributes, "http.route");
      point.error_type = value_of(p.attributes, "error.type");
      point.status = std::atoll(value_of(p.attributes, "http.response.status_code").c_str());
      point.count = p.count;
      out.http.push_back(point);
    } else if (p.metric == "bpftrace.spans") {
      out.span_counts[value_of(p.attributes, "bpftrace.family")] += std::stoull(p.value);
    }
  }
  return out;
}

class E2eSpanMetrics : public E2eTest {};

TEST_F(E2eSpanMetrics, request_duration_counts_every_request_by_normalised_route) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  TestReceiver receiver;
  // A sampler that keeps nothing: metrics are computed before sampling.
  Child exporter = start_exporter(
      "exporter", {.script = kAllScript,
                   .pid = server.child.pid(),
                   .receiver = &receiver,
                   .options = {"--sampler", "always_off", "--metric-export-interval", "300ms"}});
  ASSERT_TRUE(wait_attached("exporter")) << log("exporter");

  constexpr int kRequests = 40;  // 10 each of users, orders (+ dial, TLS, job), items/<seq>, error
  Child load = start_loadgen(server.port, "records.jsonl",
                            {"--requests", std::to_string(kRequests), "--concurrency", "2", "--mix",
                             "users,orders,items,error"});
  ASSERT_TRUE(load.wait_for(seconds(30)).has_value());
  const std::vector<Record> records = read_records(path("records.jsonl"));
  ASSERT_EQ(records.size(), static_cast<size_t>(kRequests));

  // Periodic exports while running: wait until one holds every request.
  uint64_t total = 0;
  for (int i = 0; i < 100 && total < kRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    total = 0;
    for (const HttpPoint& p : last_export(receiver).http) total += p.count;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kRequests));

  ASSERT_TRUE(stop(exporter).has_value());
  EXPECT_EQ(exporter.exit_code(), 0) << log("exporter");

  const LastExport last = last_export(receiver);  // the final export at shutdown
  ASSERT_TRUE(last.errors.empty()) << last.errors.front();
  EXPECT_GE(last.accepted, 2);
  EXPECT_TRUE(receiver.received().spans.empty());  // always_off: no spans, still metrics

  std::map<std::string, HttpPoint> by_route;
  for (const HttpPoint& p : last.http) {
    EXPECT_EQ(by_route.count(p.route), 0u) << "one attribute set per route here: " << p.route;
    by_route[p.route] = p;
  }
  ASSERT_EQ(by_route.size(), 4u) << log("exporter");
  EXPECT_EQ(by_route["/api/users"].count, 10u);
  EXPECT_EQ(by_route["/api/users"].method, "GET");
  EXPECT_EQ(by_route["/api/users"].status, 200);
  EXPECT_EQ(by_route["/api/orders"].method, "POST");
  EXPECT_EQ(by_route["/api/orders"].count, 10u);
  EXPECT_EQ(by_route["/api/items/{id}"].count, 10u);  // 10 distinct URIs, one route
  EXPECT_EQ(by_route["/api/error"].count, 10u);
  EXPECT_EQ(by_route["/api/error"].status, 500);
  EXPECT_EQ(by_route["/api/error"].error_type, "500");
  EXPECT_EQ(by_route["/api/users"].error_type, "");
  // Each order makes a job span (request family) and outbound connects.
  ASSERT_EQ(last.span_counts.count("request"), 1u);
  EXPECT_GE(last.span_counts.at("request"), 10u);

  const auto summary = parse_summary(log("exporter"));
  EXPECT_EQ(summary.at("metric_overflow"), 0u);
  EXPECT_GE(summary.at("metric_points_exported"), 4u);
  EXPECT_EQ(summary.at("metric_export_failures"), 0u);
}

}  // namespace
}  // namespace bto::e2e
