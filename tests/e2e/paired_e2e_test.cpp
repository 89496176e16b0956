// examples/scripts/paired/all.bt, the default of the demo and the README:
// every operation is paired in the kernel and printed once, yet every child
// (job, dial, TLS) still nests under its HTTP request, whose start the first
// child prints. Real demo-server, real bpftrace, the binary, the receiver.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "e2e_fixture.h"
#include "e2e_spans.h"
#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

using std::chrono::seconds;

inline constexpr const char* kPairedAllScript = BTO_SOURCE_DIR "/examples/scripts/paired/all.bt";

class E2ePaired : public E2eTest {};

TEST_F(E2ePaired, all_bt_prints_once_per_operation_and_nests_every_child) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  TestReceiver receiver;
  Child exporter = start_exporter("exporter", {.script = kPairedAllScript,
                                               .pid = server.child.pid(),
                                               .receiver = &receiver,
                                               .options = {"--service-name", "e2e-paired", "--schedule-delay", "100ms"}});
  ASSERT_TRUE(wait_attached("exporter"));

  // 17-entry mix cycled 5 times: 40 users, 20 orders, 10 error, 10 items, 5 notfound.
  ASSERT_EQ(run_loadgen(server.port, "load.jsonl",
                        {"--requests", "85", "--concurrency", "4", "--mix", "users:8,orders:4,error:2,items:2,notfound"}),
            0);
  const std::vector<Record> records = read_records(path("load.jsonl"));
  ASSERT_EQ(records.size(), 85u);

  constexpr size_t kExpected = 85 + 3 * 20;  // one dial, one TLS and one job per order
  wait_received(receiver, [](const Received& r) { return r.spans.size() >= kExpected; }, seconds(20));
  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value()) << "bpftrace-otel did not exit within 15 s of SIGTERM";
  EXPECT_EQ(*status, 0);

  const Received got = receiver.received();
  const auto figures = summary("exporter");
  ASSERT_FALSE(figures.empty()) << "no summary line";
  EXPECT_EQ(figures.at("bpftrace_lost_events"), 0u);
  EXPECT_EQ(figures.at("parent_not_found"), 0u);
  EXPECT_EQ(figures.at("exported"), got.spans.size());
  // Events: 65 requests without children are one http_request each; the 20
  // orders are opened by their first child (start + end) and their 60
  // children are one event each: 165 lines where ../all.bt prints 290.
  EXPECT_EQ(figures.at("events"), 65u + 2 * 20 + 60);
  EXPECT_EQ(figures.at("started"), 20u);
  EXPECT_EQ(figures.at("single"), 65u + 60);
  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  ASSERT_EQ(got.spans.size(), kExpected);

  // HTTP spans: one per request (the names and statuses of the mix).
  std::map<std::string, int> want_names, got_names;
  for (const Record& r : records) ++want_names["HTTP " + r.method + " " + r.uri + " " + std::to_string(r.status)];
  OrderSpans orders;
  for (const testing::ReceivedSpan& span : got.spans) {
    if (!is_http(span)) continue;
    ++got_names[span.name + " " + attr(span, "http.status_code")];
    EXPECT_EQ(span.kind, kKindServer);
    EXPECT_TRUE(span.parent_span_id.empty()) << span.name << " is a root (no traceparent in this form)";
    EXPECT_EQ(process_pid(span), std::to_string(server.child.pid()));
    if (span.name == "HTTP POST /api/orders") orders[span.span_id] = &span;
  }
  EXPECT_EQ(got_names, want_names);
  ASSERT_EQ(orders.size(), 20u);

  expect_order_children(got.spans, orders);
}

}  // namespace
}  // namespace bto::e2e
