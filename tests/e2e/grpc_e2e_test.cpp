// End to end over OTLP/gRPC: the real demo server, real bpftrace, the
// bpftrace-otel binary exporting with --protocol grpc, and the Python gRPC
// receiver (tests/receiver/otlp_grpc_receiver.py) decoding every request with
// the official schema. Needs root and bpftrace; skipped otherwise. The same
// checks as the OTLP/HTTP e2e test (names, attributes, parent links, counts
// against the summary), plus what only gRPC has: metadata, the method path,
// per-message gzip, one persistent channel per export worker, and retries on
// UNAVAILABLE with the collector's RetryInfo.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "e2e_fixture.h"
#include "e2e_spans.h"
#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

const std::string kTraceMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const std::string kSecret = "e2e-t0ken";

class E2eGrpc : public E2eTest {
 protected:
  // demo-server on a free port; returns its port once it listens (0 if it never does).
  int start_target() {
    Server server = start_server("server");
    server_ = std::move(server.child);
    return server.port;
  }

  // bpftrace-otel exporting over gRPC to `receiver`, all.bt against the demo
  // server; returns once bpftrace attached its probes.
  bool trace_to(const TestReceiver& receiver, std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--service-name", "e2e-grpc", "--schedule-delay", "100ms"});
    exporter_ = start_exporter(
        "exporter", {.script = kAllScript, .pid = server_.pid(), .receiver = &receiver, .options = extra});
    return wait_attached("exporter");
  }

  // Waits for `expected` spans (or 20 s), then stops bpftrace-otel with SIGTERM.
  Received stop_after(TestReceiver& receiver, size_t expected) {
    wait_for_spans(receiver, expected);
    const auto status = stop(exporter_);
    EXPECT_TRUE(status.has_value()) << "bpftrace-otel did not exit within 15 s of SIGTERM";
    EXPECT_EQ(status.value_or(-1), 0);
    return receiver.received();
  }

  std::string exporter_log() const { return log("exporter"); }

  // Every span checked against the request it came from (names, kinds,
  // attributes, status, resource) and every child against its parent.
  void check_spans(const Received& got, size_t requests, size_t orders_expected) {
    const std::vector<Record> records = read_records(path("load.jsonl"));
    ASSERT_EQ(records.size(), requests);
    std::map<std::string, const Record*> by_context;
    for (const Record& r : records) by_context[context_of(r)] = &r;
    ASSERT_EQ(by_context.size(), records.size()) << "traceparents are not unique";

    OrderSpans orders;
    std::set<std::string> matched;
    for (const ReceivedSpan& span : got.spans) {
      if (!is_http(span)) continue;
      const auto it = by_context.find(context_of(span));
      ASSERT_NE(it, by_context.end()) << span.name << " matches no request";
      EXPECT_TRUE(matched.insert(it->first).second) << "two spans for " << it->first;
      const Record& r = *it->second;
      SCOPED_TRACE("request seq " + std::to_string(r.seq) + " " + r.method + " " + r.uri);
      EXPECT_EQ(span.name, "HTTP " + r.method + " " + r.uri);
      EXPECT_EQ(span.kind, kKindServer);
      EXPECT_EQ(attr(span, "http.method"), r.method);
      EXPECT_EQ(attr(span, "http.url"), r.uri);
      EXPECT_EQ(attr(span, "http.status_code"), std::to_string(r.status));
      EXPECT_EQ(span.status_code == kStatusError, r.status >= 500) << "status " << span.status_code;
      EXPECT_GT(span.end, span.start);
      const ReceivedAttribute* service = find_attr(span.resource, "service.name");
      ASSERT_NE(service, nullptr);
      EXPECT_EQ(service->value, "e2e-grpc");
      const ReceivedAttribute* pid = find_attr(span.resource, "process.pid");
      ASSERT_NE(pid, nullptr);
      EXPECT_EQ(pid->value, std::to_string(server_.pid()));
      if (r.route == "orders") orders[span.span_id] = &span;
    }
    EXPECT_EQ(matched.size(), requests) << "requests without their HTTP span";
    ASSERT_EQ(orders.size(), orders_expected);

    expect_order_children(got.spans, orders);
  }

  Child server_;
  Child exporter_;  // declared after server_: stopped before it
};

// ---------------------------------------------------------------------------

TEST_F(E2eGrpc, spans_match_requests_with_gzip_and_metadata) {
  const int port = start_target();
  ASSERT_GT(port, 0);
  TestReceiver grpc(ReceiverOptions{.protocol = ReceiverProtocol::kGrpc});
  ASSERT_TRUE(trace_to(grpc, {"--compression", "gzip", "--headers",
                                    "X-Tenant=e2e,authorization=Bearer%20" + kSecret}));

  // The 17-entry mix twice: 16 users, 8 orders, 4 error, 4 items, 2 notfound.
  constexpr size_t kRequests = 34, kOrders = 8;
  ASSERT_EQ(run_loadgen(port, "load.jsonl", {"--requests", std::to_string(kRequests), "--concurrency", "4", "--traceparent",
                               "--mix", "users:8,orders:4,error:2,items:2,notfound"}),
            0);
  // One HTTP span per request, plus a dial, a TLS and a job span per order.
  constexpr size_t kExpected = kRequests + 3 * kOrders;
  const Received got = stop_after(grpc, kExpected);

  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  EXPECT_EQ(got.duplicates, 0);
  ASSERT_EQ(got.spans.size(), kExpected);
  const auto figures = parse_summary(exporter_log());
  ASSERT_FALSE(figures.empty()) << "no summary line";
  EXPECT_EQ(figures.at("exported"), got.spans.size());
  EXPECT_EQ(figures.at("ended"), got.spans.size());
  EXPECT_EQ(figures.at("dropped"), 0u);
  EXPECT_EQ(figures.at("bpftrace_lost_events"), 0u);
  EXPECT_EQ(figures.at("requests"), static_cast<uint64_t>(got.requests));
  EXPECT_EQ(figures.at("retries"), 0u);
  EXPECT_EQ(got.accepted, got.requests);
  check_spans(got, kRequests, kOrders);

  // gRPC specifics: metadata on every call, the trace method, every message
  // gzip-compressed, and kept-alive channels (at most one per export worker).
  ASSERT_FALSE(got.headers.empty());
  for (const auto& metadata : got.headers) {
    EXPECT_EQ(metadata.at(":path"), kTraceMethod);
    EXPECT_EQ(metadata.at("x-tenant"), "e2e");
    EXPECT_EQ(metadata.at("authorization"), "Bearer " + kSecret);
  }
  ASSERT_FALSE(got.content_encodings.empty());
  for (const std::string& encoding : got.content_encodings) EXPECT_EQ(encoding, "gzip");
  const std::set<int> connections(got.client_ports.begin(), got.client_ports.end());
  EXPECT_LE(connections.size(), 2u) << "one persistent channel per export worker (2 by default)";
  EXPECT_EQ(exporter_log().find(kSecret), std::string::npos) << "a header value leaked into the log";
  std::fprintf(stderr, "[ figures  ] %zu requests -> %zu spans in %d gRPC calls over %zu connection(s)\n",
               kRequests, got.spans.size(), got.requests, connections.size());
}

TEST_F(E2eGrpc, unavailable_collector_is_retried_without_loss) {
  const int port = start_target();
  ASSERT_GT(port, 0);
  TestReceiver grpc(ReceiverOptions{.protocol = ReceiverProtocol::kGrpc});
  // The first two calls fail as retryable, with the collector's own RetryInfo.
  grpc.control(
      R"({"fail_first": 2, "code": "UNAVAILABLE", "message": "collector warming up", "retry_delay_ms": 200})");
  ASSERT_TRUE(trace_to(grpc, {"--compression", "none"}));

  constexpr size_t kRequests = 17, kOrders = 4;
  ASSERT_EQ(run_loadgen(port, "load.jsonl", {"--requests", std::to_string(kRequests), "--concurrency", "2", "--traceparent",
                               "--mix", "users:8,orders:4,error:2,items:2,notfound"}),
            0);
  constexpr size_t kExpected = kRequests + 3 * kOrders;
  const Received got = stop_after(grpc, kExpected);

  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  EXPECT_EQ(got.duplicates, 0) << "a failed call's spans were kept";
  ASSERT_EQ(got.spans.size(), kExpected);
  EXPECT_EQ(got.requests, got.accepted + 2);
  const auto figures = parse_summary(exporter_log());
  ASSERT_FALSE(figures.empty()) << "no summary line";
  EXPECT_EQ(figures.at("exported"), got.spans.size());
  EXPECT_EQ(figures.at("dropped"), 0u);
  EXPECT_EQ(figures.at("retries"), 2u);
  EXPECT_EQ(figures.at("requests"), static_cast<uint64_t>(got.requests));
  for (const std::string& encoding : got.content_encodings) EXPECT_EQ(encoding, "identity");
  check_spans(got, kRequests, kOrders);
}

}  // namespace
}  // namespace bto::e2e
