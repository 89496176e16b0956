#include "telemetry/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"

namespace bto {
namespace {

using namespace std::chrono_literals;

// A blocking loopback client with a receive deadline, so a broken server
// fails the test instead of hanging it.
class Client {
 public:
  explicit Client(uint16_t port, int family = AF_INET) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (family == AF_INET6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      a.sin6_addr = in6addr_loopback;
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    }
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }

  void send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // Everything until the server closes (or `limit` passes: then "TIMEOUT").
  std::string read_all(std::chrono::milliseconds limit = 5000ms) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return out + "TIMEOUT";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[8192];
      const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string request(uint16_t port, std::string_view raw, int family = AF_INET) {
  Client client(port, family);
  if (!client.connected()) return "CONNECT FAILED";
  client.send_all(raw);
  return client.read_all();
}

std::string get(uint16_t port, std::string_view path) {
  return request(port, "GET " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n");
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return -1;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

struct Fixture {
  PipelineStats stats;
  HealthState health;
  MetricsInfo info;
  std::unique_ptr<MetricsServer> server;

  explicit Fixture(MetricsOptions options = {}) {
    info.process_metrics = false;  // so the body is reproducible
    if (options.listen.empty()) options.listen = "127.0.0.1:0";
    server = create_metrics_server(options, stats, health, info);
  }
  uint16_t port() const { return server->port(); }
};

TEST(MetricsServer, serves_metrics_as_prometheus_text) {
  Fixture f;
  ASSERT_NE(f.port(), 0);
  f.stats.decode.lines.store(42);
  f.stats.exporter.spans_exported.store(17);
  const std::string response = get(f.port(), "/metrics");
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_NE(response.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
  std::string expected;
  render_metrics(f.stats, f.info, 0, expected);
  EXPECT_EQ(body_of(response), expected);
  EXPECT_NE(response.find("\r\nContent-Length: " + std::to_string(expected.size()) + "\r\n"), std::string::npos);
  EXPECT_NE(expected.find("bpftrace_otel_lines_read_total 42\n"), std::string::npos);
  EXPECT_NE(expected.find("bpftrace_otel_spans_exported_total 17\n"), std::string::npos);
}

TEST(MetricsServer, metrics_follow_the_counters_between_scrapes) {
  Fixture f;
  EXPECT_NE(body_of(get(f.port(), "/metrics")).find("bpftrace_otel_events_total 0\n"), std::string::npos);
  f.stats.decode.events.store(1234);
  EXPECT_NE(body_of(get(f.port(), "/metrics?x=1")).find("bpftrace_otel_events_total 1234\n"), std::string::npos);
}

TEST(MetricsServer, healthz_is_ok_while_running) {
  Fixture f;
  const std::string response = get(f.port(), "/healthz");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), "ok\n");
}

TEST(MetricsServer, readyz_follows_bpftrace_and_exporter_state) {
  Fixture f;
  std::string response = get(f.port(), "/readyz");
  EXPECT_EQ(status_of(response), 503);
  EXPECT_EQ(body_of(response), "not ready: bpftrace not started yet\n");

  f.stats.source.starts.store(1);
  response = get(f.port(), "/readyz");
  EXPECT_EQ(status_of(response), 503);
  EXPECT_NE(body_of(response).find("bpftrace not attached"), std::string::npos) << response;

  f.stats.source.attached.store(true);
  response = get(f.port(), "/readyz");
  EXPECT_EQ(status_of(response), 200) << response;  // nothing exported yet counts as reachable
  EXPECT_EQ(body_of(response), "ready\n");

  f.stats.exporter.last_export_success_unix_ms.store(1000);
  f.stats.exporter.last_export_failure_unix_ms.store(2000);
  response = get(f.port(), "/readyz");
  EXPECT_EQ(status_of(response), 503);
  EXPECT_NE(body_of(response).find("exporter unreachable"), std::string::npos) << response;

  f.stats.exporter.last_export_success_unix_ms.store(3000);
  EXPECT_EQ(status_of(get(f.port(), "/readyz")), 200);

  f.stats.source.attached.store(false);  // bpftrace died, restart pending
  EXPECT_EQ(status_of(get(f.port(), "/readyz")), 503);

  f.health.stopping.store(true);
  response = get(f.port(), "/readyz");
  EXPECT_EQ(status_of(response), 503);
  EXPECT_EQ(body_of(response), "not ready: shutting down\n");
}

TEST(MetricsServer, readyz_in_replay_needs_no_bpftrace) {
  Fixture f;
  f.health.replay.store(true);
  EXPECT_EQ(status_of(get(f.port(), "/readyz")), 200);
  f.stats.exporter.last_export_failure_unix_ms.store(5);
  EXPECT_EQ(status_of(get(f.port(), "/readyz")), 503);
}

TEST(MetricsServer, unknown_path_is_404_and_other_methods_405) {
  Fixture f;
  EXPECT_EQ(status_of(get(f.port(), "/")), 404);
  EXPECT_EQ(status_of(get(f.port(), "/metricsx")), 404);
  const std::string post =
      request(f.port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(status_of(post), 405) << post;
  EXPECT_NE(post.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(status_of(request(f.port(), "DELETE /healthz HTTP/1.1\r\n\r\n")), 405);
}

TEST(MetricsServer, head_answers_without_a_body) {
  Fixture f;
  const std::string response = request(f.port(), "HEAD /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(response), 200);
  EXPECT_NE(response.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_EQ(body_of(response), "");
}

TEST(MetricsServer, malformed_request_is_400) {
  Fixture f;
  EXPECT_EQ(status_of(request(f.port(), "hello\r\n\r\n")), 400);
  EXPECT_EQ(status_of(request(f.port(), "GET /metrics SPDY/3\r\n\r\n")), 400);
}

TEST(MetricsServer, oversized_request_is_rejected) {
  MetricsOptions options;
  options.max_request_bytes = 1024;
  Fixture f(options);
  std::string big = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(20000, 'a') + "\r\n\r\n";
  const std::string response = request(f.port(), big);
  EXPECT_EQ(status_of(response), 431) << response.substr(0, 200);
  // A request just under the limit is still served.
  std::string fits = "GET /healthz HTTP/1.1\r\nX-Filler: " + std::string(900, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_of(request(f.port(), fits)), 200);
}

TEST(MetricsServer, request_split_across_packets_is_assembled) {
  Fixture f;
  Client client(f.port());
  ASSERT_TRUE(client.connected());
  client.send_all("GET /hea");
  std::this_thread::sleep_for(20ms);
  client.send_all("lthz HTTP/1.1\r\n");
  std::this_thread::sleep_for(20ms);
  client.send_all("\r\n");
  EXPECT_EQ(status_of(client.read_all()), 200);
}

TEST(MetricsServer, many_sequential_clients) {
  Fixture f;
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(status_of(get(f.port(), i % 2 ? "/metrics" : "/healthz")), 200) << "request " << i;
  }
}

TEST(MetricsServer, concurrent_clients) {
  Fixture f;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (status_of(get(f.port(), "/metrics")) == 200) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 150);
}

TEST(MetricsServer, idle_client_does_not_block_others_and_times_out) {
  MetricsOptions options;
  options.request_timeout = 300ms;
  Fixture f(options);
  Client idle(f.port());
  ASSERT_TRUE(idle.connected());
  EXPECT_EQ(status_of(get(f.port(), "/healthz")), 200);  // served while `idle` sends nothing
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(idle.read_all(3000ms), "");  // closed by the server, no answer
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, 2000ms);
}

TEST(MetricsServer, connections_beyond_the_cap_close_the_oldest_idle_one) {
  MetricsOptions options;
  options.max_connections = 2;
  Fixture f(options);
  Client a(f.port());
  Client b(f.port());
  ASSERT_TRUE(a.connected() && b.connected());
  const std::string third = get(f.port(), "/healthz");  // `a` makes room
  EXPECT_EQ(status_of(third), 200) << third;
  EXPECT_EQ(a.read_all(2000ms), "");  // closed without an answer
  b.send_all("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_of(b.read_all()), 200);
}

// Issue 17.5: 20 idle connections made /healthz answer 503 (44 of 44
// probes), so a liveness probe would restart a healthy exporter.
TEST(MetricsServer, idle_connections_never_starve_healthz) {
  Fixture f;  // default cap (16) and timeouts
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 20; ++i) {
    idle.push_back(std::make_unique<Client>(f.port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  int ok = 0;
  for (int probe = 0; probe < 44; ++probe) {
    if (status_of(get(f.port(), "/healthz")) == 200) ++ok;
    if (probe % 4 == 0) idle.push_back(std::make_unique<Client>(f.port()));  // the flood goes on
  }
  EXPECT_EQ(ok, 44);
}

TEST(MetricsServer, idle_connections_time_out_quickly) {
  Fixture f;  // default request_timeout
  Client idle(f.port());
  ASSERT_TRUE(idle.connected());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(idle.read_all(6000ms), "");
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_LT(waited, 3000ms);  // was 5 s (the answer's io_timeout)
}

TEST(MetricsServer, bare_lf_request_end_answered_at_once) {
  Fixture f;
  const auto start = std::chrono::steady_clock::now();
  Client client(f.port());
  client.send_all("GET /healthz HTTP/1.1\nHost: x\n\n");
  const std::string response = client.read_all(1500ms);
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  // Mixed: CRLF lines, then a bare LF ending, split across writes.
  Client mixed(f.port());
  mixed.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  std::this_thread::sleep_for(50ms);
  mixed.send_all("\n");
  EXPECT_EQ(status_of(mixed.read_all(1500ms)), 200);
}

TEST(MetricsServer, stop_with_a_client_connected) {
  Fixture f;
  Client idle(f.port());
  ASSERT_TRUE(idle.connected());
  EXPECT_EQ(status_of(get(f.port(), "/healthz")), 200);  // the idle one is accepted by now
  const auto start = std::chrono::steady_clock::now();
  f.server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  EXPECT_EQ(idle.read_all(2000ms), "");  // closed, not left hanging
  Client late(f.port());
  EXPECT_FALSE(late.connected());
  f.server->stop();  // idempotent
}

TEST(MetricsServer, listens_on_ipv6_loopback) {
  PipelineStats stats;
  HealthState health;
  MetricsInfo info;
  MetricsOptions options;
  options.listen = "[::1]:0";
  std::unique_ptr<MetricsServer> server;
  try {
    server = create_metrics_server(options, stats, health, info);
  } catch (const StartupError& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  const std::string response =
      request(server->port(), "GET /healthz HTTP/1.1\r\n\r\n", AF_INET6);
  EXPECT_EQ(status_of(response), 200) << response;
}

bool has_ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

// Issue 17.5: ":9464" listened on IPv4 only.
TEST(MetricsServer, any_host_listens_on_ipv6_and_ipv4) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 on this host";
  MetricsOptions options;
  options.listen = ":0";
  Fixture f(options);
  EXPECT_EQ(status_of(request(f.port(), "GET /healthz HTTP/1.1\r\n\r\n", AF_INET6)), 200);
  EXPECT_EQ(status_of(request(f.port(), "GET /healthz HTTP/1.1\r\n\r\n", AF_INET)), 200);
}

TEST(MetricsServer, bad_listen_address_is_a_startup_error) {
  PipelineStats stats;
  HealthState health;
  MetricsInfo info;
  for (const char* listen : {"9464", "127.0.0.1", "127.0.0.1:99999", "::1:9464", "[::1]9464", "host:port",
                             "256.1.1.1:9464"}) {
    MetricsOptions options;
    options.listen = listen;
    try {
      create_metrics_server(options, stats, health, info);
      ADD_FAILURE() << listen << " accepted";
    } catch (const StartupError& e) {
      EXPECT_NE(std::string(e.what()).find("metrics_listen"), std::string::npos) << e.what();
    }
  }
}

TEST(MetricsServer, port_in_use_is_a_startup_error) {
  Fixture first;
  PipelineStats stats;
  HealthState health;
  MetricsInfo info;
  MetricsOptions options;
  options.listen = "127.0.0.1:" + std::to_string(first.port());
  EXPECT_THROW(create_metrics_server(options, stats, health, info), StartupError);
}

TEST(ListenAddress, parses_the_accepted_forms) {
  auto a = parse_listen_address("127.0.0.1:9464");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9464);
  a = parse_listen_address("[::1]:9464");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  a = parse_listen_address(":9464");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "");
  a = parse_listen_address("localhost:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 0);
  for (const char* bad : {"", ":", "9464", "[::1]", "[]:1", "[::1]:", "a:b", "a:65536", "a:-1", "::1:80", "a:+80"}) {
    EXPECT_FALSE(parse_listen_address(bad)) << bad;
  }
}

}  // namespace
}  // namespace bto
