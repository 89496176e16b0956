// Span metrics for real: bpftrace traces the demo server under load, the
// exporter sends OTLP metrics to the test receiver (official schema), and the
// last cumulative http.server.request.duration must count every request the
// load generator made, per normalised route.

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

using std::chrono::seconds;

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::string http_get(const std::string& url) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_perform(curl.get());
  return body;
}

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

LastExport last_export(bto::testing::TestReceiver& receiver) {
  const std::string text = http_get("http://127.0.0.1:" + std::to_string(receiver.port()) + "/received_metrics");
  simdjson::dom::parser parser;
  simdjson::dom::object root = parser.parse(text).get_object().value();
  LastExport out;
  out.accepted = static_cast<int>(root["accepted"].get_int64().value());
  for (auto e : root["errors"].get_array()) out.errors.emplace_back(e.get_string().value());
  for (simdjson::dom::object p : root["points"].get_array()) {
    out.time = std::max<uint64_t>(out.time, std::stoull(std::string(p["time"].get_string().value())));
  }
  for (simdjson::dom::object p : root["points"].get_array()) {
    if (std::stoull(std::string(p["time"].get_string().value())) != out.time) continue;
    const std::string_view metric = p["metric"].get_string().value();
    std::map<std::string, std::string> attributes;
    for (simdjson::dom::object a : p["attributes"].get_array()) {
      simdjson::dom::element v = a["value"];
      attributes[std::string(a["key"].get_string().value())] =
          v.is_string() ? std::string(v.get_string().value()) : "";
    }
    if (metric == "http.server.request.duration") {
      HttpPoint point;
      point.method = attributes["http.request.method"];
      point.route = attributes["http.route"];
      point.error_type = attributes["error.type"];
      point.status = std::atoll(attributes["http.response.status_code"].c_str());
      point.count = std::stoull(std::string(p["count"].get_string().value()));
      out.http.push_back(point);
    } else if (metric == "bpftrace.spans") {
      out.span_counts[attributes["bpftrace.family"]] += std::stoull(std::string(p["value"].get_string().value()));
    }
  }
  return out;
}

TEST(E2eSpanMetrics, request_duration_counts_every_request_by_normalised_route) {
  const std::string why = missing_prerequisite();
  if (!why.empty()) GTEST_SKIP() << why;
  TempDir tmp;
  const std::string port_file = tmp.path("server.port");
  Child server = Child::spawn({BTO_E2E_DEMO_SERVER, "--port", "0", "--port-file", port_file, "--quiet"}, "",
                              tmp.path("server.err"));
  int port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    port = std::atoi(read_file(port_file).c_str());
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(port, 0);
  bto::testing::TestReceiver receiver;
  // A sampler that keeps nothing: metrics are computed before sampling.
  Child exporter = Child::spawn(
      {BTO_E2E_EXPORTER, "--script", BTO_SOURCE_DIR "/examples/scripts/all.bt", "--pid", std::to_string(server.pid()),
       "--endpoint", receiver.traces_url(), "--sampler", "always_off", "--metric-export-interval", "300ms", "--",
       BTO_E2E_DEMO_SERVER},
      tmp.path("exporter.out"), tmp.path("exporter.err"));
  ASSERT_TRUE(wait_for_text(tmp.path("exporter.err"), "attached its probes", seconds(40)))
      << read_file(tmp.path("exporter.err"));
  std::this_thread::sleep_for(seconds(1));

  constexpr int kRequests = 40;  // 10 each of users, orders (+ dial, TLS, job), items/<seq>, error
  Child load = Child::spawn({BTO_E2E_LOADGEN, "--port", std::to_string(port), "--requests", std::to_string(kRequests),
                             "--concurrency", "2", "--mix", "users,orders,items,error", "--record",
                             tmp.path("records.jsonl")},
                            tmp.path("load.out"), tmp.path("load.err"));
  ASSERT_TRUE(load.wait_for(seconds(30)).has_value());
  const std::vector<Record> records = read_records(tmp.path("records.jsonl"));
  ASSERT_EQ(records.size(), static_cast<size_t>(kRequests));

  // Periodic exports while running: wait until one holds every request.
  uint64_t total = 0;
  for (int i = 0; i < 100 && total < kRequests; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    total = 0;
    for (const HttpPoint& p : last_export(receiver).http) total += p.count;
  }
  EXPECT_EQ(total, static_cast<uint64_t>(kRequests));

  exporter.signal(SIGTERM);
  ASSERT_TRUE(exporter.wait_for(seconds(15)).has_value());
  EXPECT_EQ(exporter.exit_code(), 0) << read_file(tmp.path("exporter.err"));

  const LastExport last = last_export(receiver);  // the final export at shutdown
  ASSERT_TRUE(last.errors.empty()) << last.errors.front();
  EXPECT_GE(last.accepted, 2);
  EXPECT_TRUE(receiver.received().spans.empty());  // always_off: no spans, still metrics

  std::map<std::string, HttpPoint> by_route;
  for (const HttpPoint& p : last.http) {
    EXPECT_EQ(by_route.count(p.route), 0u) << "one attribute set per route here: " << p.route;
    by_route[p.route] = p;
  }
  ASSERT_EQ(by_route.size(), 4u) << read_file(tmp.path("exporter.err"));
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

  const auto summary = parse_summary(read_file(tmp.path("exporter.err")));
  EXPECT_EQ(summary.at("metric_overflow"), 0u);
  EXPECT_GE(summary.at("metric_points_exported"), 4u);
  EXPECT_EQ(summary.at("metric_export_failures"), 0u);
}

}  // namespace
}  // namespace bto::e2e
