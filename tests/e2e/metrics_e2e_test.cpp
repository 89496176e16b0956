// The exporter's own /metrics endpoint, scraped while it traces the demo
// server for real, must report the counts the receiver actually got.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {
namespace {

using std::chrono::seconds;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

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

TEST(E2eMetrics, scraped_counts_equal_what_the_receiver_got) {
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
  const int metrics_port = free_port();
  Child exporter = Child::spawn(
      {BTO_E2E_EXPORTER, "--script", BTO_SOURCE_DIR "/examples/scripts/all.bt", "--pid",
       std::to_string(server.pid()), "--endpoint", receiver.traces_url(), "--schedule-delay", "100ms",
       "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port), "--", BTO_E2E_DEMO_SERVER},
      tmp.path("exporter.out"), tmp.path("exporter.err"));
  ASSERT_TRUE(wait_for_text(tmp.path("exporter.err"), "attached its probes", seconds(40)))
      << read_file(tmp.path("exporter.err"));
  std::this_thread::sleep_for(seconds(1));
  EXPECT_NE(http_get(metrics_port, "/healthz").find(" 200 "), std::string::npos);
  EXPECT_NE(http_get(metrics_port, "/readyz").find(" 200 "), std::string::npos);

  constexpr int kRequests = 40;  // users, orders (+dial, TLS, job), items, error
  Child load = Child::spawn({BTO_E2E_LOADGEN, "--port", std::to_string(port), "--requests", std::to_string(kRequests),
                             "--concurrency", "2", "--mix", "users,orders,items,error"},
                            tmp.path("load.out"), tmp.path("load.err"));
  ASSERT_TRUE(load.wait_for(seconds(30)).has_value());
  constexpr size_t kSpans = kRequests + 3 * (kRequests / 4);
  for (int i = 0; i < 100 && receiver.received().spans.size() < kSpans; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
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

  exporter.signal(SIGTERM);
  const auto status = exporter.wait_for(seconds(15));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(exporter.exit_code(), 0);
}

}  // namespace
}  // namespace bto::e2e
