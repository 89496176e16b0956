// The exporter's own /metrics endpoint, scraped while it traces the demo
// server for real, must report the counts the receiver actually got.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "e2e_fixture.h"
#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

// One GET over a fresh loopback connection; returns status line + body.
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)::write(fd, request.data(), request.size());
  std::string response;
  char buffer[8192];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return response;
}

// The value of the sample whose name+labels are exactly `series`.
long long sample(const std::string& metrics, const std::string& series) {
  size_t at = 0;
  while ((at = metrics.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || metrics[at - 1] == '\n') return std::atoll(metrics.c_str() + at + series.size() + 1);
    at += series.size();
  }
  return -1;
}

class E2eMetrics : public E2eTest {};

TEST_F(E2eMetrics, scraped_counts_equal_what_the_receiver_got) {
  Server server = start_server("server");
  ASSERT_GT(server.port, 0);
  TestReceiver receiver;
  const int metrics_port = bto::testing::free_port();
  Child exporter = start_exporter(
      "exporter", {.script = kAllScript,
                   .pid = server.child.pid(),
                   .receiver = &receiver,
                   .options = {"--schedule-delay", "100ms", "--metrics-listen",
                               "127.0.0.1:" + std::to_string(metrics_port)}});
  ASSERT_TRUE(wait_attached("exporter")) << log("exporter");
  EXPECT_NE(http_get(metrics_port, "/healthz").find(" 200 "), std::string::npos);
  EXPECT_NE(http_get(metrics_port, "/readyz").find(" 200 "), std::string::npos);

  constexpr int kRequests = 40;  // users, orders (+dial, TLS, job), items, error
  Child load = start_loadgen(server.port, "load.jsonl",
                            {"--requests", std::to_string(kRequests), "--concurrency", "2", "--mix",
                             "users,orders,items,error"});
  ASSERT_TRUE(load.wait_for(seconds(30)).has_value());
  constexpr size_t kSpans = kRequests + 3 * (kRequests / 4);
  wait_for_spans(receiver, kSpans, seconds(10));
  const size_t received = receiver.received().spans.size();
  ASSERT_EQ(received, kSpans);

  const std::string metrics = http_get(metrics_port, "/metrics");
  ASSERT_NE(metrics.find(" 200 "), std::string::npos) << metrics;
  EXPECT_EQ(sample(metrics, "bpftrace_otel_spans_exported_total"), static_cast<long long>(received)) << metrics;
  EXPECT_EQ(sample(metrics, "bpftrace_otel_spans_started_total"), static_cast<long long>(kSpans));
  EXPECT_EQ(sample(metrics, "bpftrace_otel_spans_total{outcome=\"ended\"}"), static_cast<long long>(kSpans));
  EXPECT_EQ(sample(metrics, "bpftrace_otel_events_total"), static_cast<long long>(2 * kSpans));
  EXPECT_EQ(sample(metrics, "bpftrace_otel_spans_dropped_total{reason=\"queue_full\"}"), 0);
  EXPECT_EQ(sample(metrics, "bpftrace_otel_bpftrace_lost_events_total"), 0);
  EXPECT_EQ(sample(metrics, "bpftrace_otel_bpftrace_attached"), 1);
  EXPECT_EQ(sample(metrics, "bpftrace_otel_open_spans"), 0);

  const auto status = stop(exporter);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(exporter.exit_code(), 0);
}

}  // namespace
}  // namespace bto::e2e
