#include "telemetry/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <list>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kDrainBytes = 64 * 1024;  // read and discard after answering, so close() sends no RST

struct Response {
  int status = 200;
  std::string_view reason = "OK";
  std::string_view content_type = "text/plain; charset=utf-8";
  bool allow_header = false;
};

class MetricsServerImpl final : public MetricsServer {
 public:
  MetricsServerImpl(const MetricsOptions& options, const PipelineStats& stats, const HealthState& health,
                    const MetricsInfo& info, int listen_fd, uint16_t port)
      : options_(options), stats_(stats), health_(health), info_(info), listen_fd_(listen_fd), port_(port) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      ::close(listen_fd_);
      throw StartupError(fmt::format("metrics server: pipe failed: {}", std::strerror(errno)));
    }
    wake_read_ = pipe_fds[0];
    wake_write_ = pipe_fds[1];
    thread_ = std::thread([this] { serve(); });
  }

  ~MetricsServerImpl() override { stop(); }

  uint16_t port() const noexcept override { return port_; }

  void stop() noexcept override {
    if (stopped_.exchange(true)) return;
    const char byte = 1;
    [[maybe_unused]] const ssize_t ignored = ::write(wake_write_, &byte, 1);
    if (thread_.joinable()) thread_.join();
    for (Connection& c : connections_) ::close(c.fd);
    connections_.clear();
    ::close(listen_fd_);
    ::close(wake_read_);
    ::close(wake_write_);
  }

 private:
  enum class State { kReading, kWriting, kDraining };
  struct Connection {
    int fd = -1;
    State state = State::kReading;
    std::string buffer;  // request while reading, response while writing
    size_t written = 0;
    size_t drained = 0;
    Clock::time_point deadline;
  };

  void serve() {
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({wake_read_, POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      for (const Connection& c : connections_) {
        fds.push_back({c.fd, static_cast<short>(c.state == State::kWriting ? POLLOUT : POLLIN), 0});
      }
      int timeout_ms = -1;
      const auto now = Clock::now();
      for (const Connection& c : connections_) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(c.deadline - now).count();
        const int left_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
        timeout_ms = timeout_ms < 0 ? left_ms : std::min(timeout_ms, left_ms);
      }
      const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
      if (ready < 0 && errno != EINTR) {
        log_.error("metrics server: poll failed: {}; /metrics is no longer served", std::strerror(errno));
        return;
      }
      if (fds[0].revents != 0) return;  // stop()
      // Connections first: the indices in `fds` follow connections_ as it was.
      size_t index = 2;
      for (auto it = connections_.begin(); it != connections_.end(); ++index) {
        const short revents = ready > 0 ? fds[index].revents : 0;
        if (revents != 0 ? !service(*it, revents) : Clock::now() >= it->deadline) {
          ::close(it->fd);
          it = connections_.erase(it);
        } else {
          ++it;
        }
      }
      if (ready > 0 && fds[1].revents != 0) accept_all();
    }
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
          log_.warn("metrics server: accept failed: {}", std::strerror(errno));
        }
        return;
      }
      if (connections_.size() >= options_.max_connections && !close_oldest_idle()) {
        static constexpr std::string_view kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n";
        [[maybe_unused]] const ssize_t ignored = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      Connection& c = connections_.emplace_back();
      c.fd = fd;
      c.deadline = Clock::now() + options_.request_timeout;
    }
  }

  // Makes room for a new client: a connection that sent nothing complete yet
  // or was already answered, oldest first (connections_ is in accept order).
  // A busy server keeps answering new probes; idle sockets cannot hold it.
  bool close_oldest_idle() {
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
      if (it->state != State::kWriting) {
        ::close(it->fd);
        connections_.erase(it);
        return true;
      }
    }
    return false;
  }

  // False when the connection is finished (closed by the caller).
  bool service(Connection& c, short revents) {
    switch (c.state) {
      case State::kReading: return read_request(c);
      case State::kWriting: return (revents & (POLLERR | POLLHUP)) == 0 && write_response(c);
      case State::kDraining: return drain(c);
    }
    return false;
  }

  bool read_request(Connection& c) {
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::recv(c.fd, chunk, sizeof(chunk), 0);
      if (n == 0) return false;  // gave up before sending a whole request
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      const size_t searched_from = c.buffer.size() >= 2 ? c.buffer.size() - 2 : 0;
      c.buffer.append(chunk, static_cast<size_t>(n));
      const size_t end = end_of_headers(c.buffer, searched_from);
      if (end != std::string::npos && end <= options_.max_request_bytes) {
        handle(c);
        return write_response(c);
      }
      if (c.buffer.size() > options_.max_request_bytes) {
        c.deadline = Clock::now() + options_.io_timeout;
        respond(c, {431, "Request Header Fields Too Large"},
                fmt::format("request larger than {} bytes\n", options_.max_request_bytes), false);
        return write_response(c);
      }
    }
  }

  // Just past the empty line that ends the headers ("\r\n\r\n", or bare LFs
  // as RFC 9112 allows a recipient to accept), searching from `from`; npos
  // while incomplete.
  static size_t end_of_headers(std::string_view buffer, size_t from) {
    for (size_t at = buffer.find('\n', from); at != std::string_view::npos; at = buffer.find('\n', at + 1)) {
      if (at + 1 < buffer.size() && buffer[at + 1] == '\n') return at + 2;
      if (at + 2 < buffer.size() && buffer[at + 1] == '\r' && buffer[at + 2] == '\n') return at + 3;
    }
    return std::string_view::npos;
  }

  void handle(Connection& c) {
    c.deadline = Clock::now() + options_.io_timeout;  // the answer gets the io timeout
    // Request line: METHOD SP target SP HTTP/1.x
    const std::string_view request(c.buffer);
    std::string_view line = request.substr(0, request.find('\n'));
    if (line.ends_with('\r')) line.remove_suffix(1);
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
      respond(c, {400, "Bad Request"}, "malformed request line\n", false);
      return;
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    const bool head = method == "HEAD";
    if (method != "GET" && !head) {
      respond(c, {405, "Method Not Allowed", "text/plain; charset=utf-8", true}, "only GET is supported\n", false);
      return;
    }
    if (path == "/metrics") {
      render_metrics(stats_, info_, unix_now_ms(), scratch_);
      respond(c, {200, "OK", kMetricsContentType}, scratch_, head);
    } else if (path == "/healthz") {
      respond(c, {}, "ok\n", head);
    } else if (path == "/readyz") {
      const Readiness readiness = check_readiness(stats_, health_);
      if (readiness.ready) {
        respond(c, {}, "ready\n", head);
      } else {
        respond(c, {503, "Service Unavailable"}, "not ready: " + readiness.reason + "\n", head);
      }
    } else {
      respond(c, {404, "Not Found"}, "not found; try /metrics, /healthz or /readyz\n", head);
    }
  }

  static void respond(Connection& c, const Response& r, std::string_view body, bool head) {
    std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", r.status,
                                  r.reason, r.content_type, body.size());
    if (r.allow_header) out += "Allow: GET, HEAD\r\n";
    out += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
    if (!head) out += body;
    c.buffer = std::move(out);
    c.written = 0;
    c.state = State::kWriting;
  }

  bool write_response(Connection& c) {
    while (c.written < c.buffer.size()) {
      const ssize_t n = ::send(c.fd, c.buffer.data() + c.written, c.buffer.size() - c.written, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.written += static_cast<size_t>(n);
    }
    // Answered: half-close and read what the client still sends until it
    // closes, so unread request bytes do not turn close() into a reset that
    // could destroy the answer in flight.
    ::shutdown(c.fd, SHUT_WR);
    c.buffer.clear();
    c.buffer.shrink_to_fit();
    c.state = State::kDraining;
    return drain(c);
  }

  static bool drain(Connection& c) {
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::recv(c.fd, chunk, sizeof(chunk), 0);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.drained += static_cast<size_t>(n);
      if (c.drained > kDrainBytes) return false;
    }
  }

  const MetricsOptions options_;
  const PipelineStats& stats_;
  const HealthState& health_;
  const MetricsInfo& info_;
  int listen_fd_;
  uint16_t port_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::atomic<bool> stopped_{false};
  std::list<Connection> connections_;
  std::string scratch_;
  RateLimitedLog log_;
  std::thread thread_;
};

[[noreturn]] void bad_listen(std::string_view text) {
  throw StartupError(fmt::format("invalid value '{}' for metrics_listen: expected HOST:PORT, [IPv6]:PORT or :PORT "
                                 "(port 0-65535), e.g. 127.0.0.1:9464",
                                 quote_bytes(text, 96)));
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress address;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1 || text.substr(close + 1, 1) != ":") return std::nullopt;
    address.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    address.host = std::string(text.substr(0, colon));
    if (address.host.find_first_of(":[]") != std::string::npos) return std::nullopt;  // IPv6 needs brackets
    port_text = text.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port > 65535) return std::nullopt;
  address.port = static_cast<uint16_t>(port);
  return address;
}

std::unique_ptr<MetricsServer> create_metrics_server(const MetricsOptions& options, const PipelineStats& stats,
                                                     const HealthState& health, const MetricsInfo& info) {
  const auto address = parse_listen_address(options.listen);
  if (!address) bad_listen(options.listen);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const std::string port_text = std::to_string(address->port);
  const int rc = ::getaddrinfo(address->host.empty() ? nullptr : address->host.c_str(), port_text.c_str(), &hints,
                               &results);
  if (rc != 0) {
    throw StartupError(fmt::format("metrics_listen {}: cannot resolve '{}': {}", quote_bytes(options.listen, 96),
                                   quote_bytes(address->host, 64), ::gai_strerror(rc)));
  }
  // ":PORT": the IPv6 wildcard first, as one dual-stack socket that takes
  // IPv4 clients too; the IPv4 wildcard where the host has no IPv6.
  std::vector<const addrinfo*> candidates;
  for (const addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) candidates.push_back(ai);
  if (address->host.empty()) {
    std::stable_partition(candidates.begin(), candidates.end(),
                          [](const addrinfo* ai) { return ai->ai_family == AF_INET6; });
  }
  std::string last_error = "no address";
  int fd = -1;
  for (const addrinfo* ai : candidates) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6 && address->host.empty()) {
      const int zero = 0;
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 64) == 0) break;
    last_error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(results);
  if (fd < 0) {
    throw StartupError(
        fmt::format("metrics_listen {}: cannot listen: {}", quote_bytes(options.listen, 96), last_error));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  uint16_t port = address->port;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
    port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }
  spdlog::info("serving /metrics, /healthz and /readyz on {} (port {})", quote_bytes(options.listen, 96), port);
  return std::make_unique<MetricsServerImpl>(options, stats, health, info, fd, port);
}

}  // namespace bto
