// demo-server: a small HTTP/1.1 server on 127.0.0.1 with USDT probes, used to
// demonstrate and test bpftrace-otel end to end (docs/demo.md).
//
// USDT probes (provider "demo"):
//   http_request_start(uint64 id, const char* method, const char* uri, const char* traceparent)
//   http_request_end(uint64 id, int status)
//   request_start(uint64 id, uint64 parent_id, const char* name)
//   request_end(uint64 id, int status)
// HTTP request ids and job ids come from one counter, so an id names one span.
//
// POST /api/orders dials a TLS peer this process runs itself (thread "tls-peer"),
// so the TLS and dial scripts have a real connect(2) and SSL_connect to observe.
//
// Every string handed to a probe lives in memory this process has just written
// (std::string in the request). bpftrace's str() cannot fault pages in, so a
// pointer into a never-touched page (say, a fresh .rodata literal) reads as "".

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sdt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeadBytes = 16 * 1024;
constexpr size_t kMaxBodyBytes = 1024 * 1024;
constexpr int kPollMs = 100;  // how often idle threads look at the stop flag

struct Options {
  uint16_t port = 8080;
  uint64_t max_requests = 0;  // 0 = unlimited
  bool verbose = false;
  bool quiet = false;
  std::string port_file;
  std::string peer_name = "payments.local";
};

std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_next_id{1};
std::atomic<uint64_t> g_completed{0};

// Detached worker threads register here so shutdown can wait for them.
class ThreadCount {
 public:
  void enter() {
    std::lock_guard lock(mutex_);
    ++count_;
  }
  void leave() {
    std::lock_guard lock(mutex_);
    if (--count_ == 0) cv_.notify_all();
  }
  bool wait_zero(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return count_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
};

ThreadCount g_connections;
ThreadCount g_peer_connections;

void request_stop() { g_stop.store(true); }

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "demo-server: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

void log_ssl_errors(const char* what) {
  unsigned long err = 0;
  char buf[256];
  while ((err = ERR_get_error()) != 0) {
    ERR_error_string_n(err, buf, sizeof buf);
    std::fprintf(stderr, "demo-server: %s: %s\n", what, buf);
  }
}

// Returns the bound fd and writes the chosen port.
int listen_loopback(uint16_t port, uint16_t& bound_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (::listen(fd, 512) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname");
  bound_port = ntohs(addr.sin_port);
  return fd;
}

// Waits for the fd to become readable; false on stop or error.
bool wait_readable(int fd) {
  while (!g_stop.load(std::memory_order_relaxed)) {
    pollfd pfd{fd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, kPollMs);
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
  return false;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// ---------------------------------------------------------------- TLS peer

struct Tls {
  SSL_CTX* server_ctx = nullptr;
  SSL_CTX* client_ctx = nullptr;
  uint16_t peer_port = 0;
  int peer_fd = -1;
};

// A self-signed P-256 certificate made at start, so the demo needs no files.
bool make_server_ctx(Tls& tls, const std::string& name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key != nullptr && cert != nullptr;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* subject = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, subject);
    ok = X509_sign(cert, key, EVP_sha256()) > 0;
  }
  tls.server_ctx = SSL_CTX_new(TLS_server_method());
  ok = ok && tls.server_ctx != nullptr && SSL_CTX_use_certificate(tls.server_ctx, cert) == 1 &&
       SSL_CTX_use_PrivateKey(tls.server_ctx, key) == 1;
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) log_ssl_errors("TLS peer setup");
  return ok;
}

void serve_peer_connection(Tls* tls, int fd) {
  SSL* ssl = SSL_new(tls->server_ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    char buf[256];
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n > 0) {
      static constexpr std::string_view kReply = "ok\n";
      SSL_write(ssl, kReply.data(), static_cast<int>(kReply.size()));
    }
    SSL_shutdown(ssl);
  } else {
    ERR_clear_error();
  }
  SSL_free(ssl);
  ::close(fd);
  g_peer_connections.leave();
}

void run_peer(Tls* tls) {
  // A different comm keeps the peer's own handshakes out of scripts filtering
  // on comm == "demo-server": it stands in for a remote payment service.
  pthread_setname_np(pthread_self(), "tls-peer");
  while (wait_readable(tls->peer_fd)) {
    int fd = ::accept4(tls->peer_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    g_peer_connections.enter();
    std::thread(serve_peer_connection, tls, fd).detach();
  }
}

// ---------------------------------------------------------------- HTTP

struct Request {
  uint64_t id = 0;
  std::string method;
  std::string uri;
  std::string traceparent;  // "" when the header is absent
  bool keep_alive = true;
  size_t content_length = 0;
};

struct Response {
  int status = 200;
  std::string body;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Parses the request line and headers (without the final CRLFCRLF).
bool parse_head(std::string_view head, Request& req) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  req.method.assign(line.substr(0, sp1));
  req.uri.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    req.keep_alive = true;
  } else if (version == "HTTP/1.0") {
    req.keep_alive = false;
  } else {
    return false;
  }
  req.traceparent.clear();
  req.content_length = 0;
  std::string_view rest = eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t end = rest.find("\r\n");
    std::string_view header = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
    size_t colon = header.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view name = header.substr(0, colon);
    std::string_view value = trim(header.substr(colon + 1));
    if (iequals(name, "content-length")) {
      char* endp = nullptr;
      std::string tmp(value);
      unsigned long long n = std::strtoull(tmp.c_str(), &endp, 10);
      if (tmp.empty() || *endp != '\0' || n > kMaxBodyBytes) return false;
      req.content_length = static_cast<size_t>(n);
    } else if (iequals(name, "connection")) {
      if (iequals(value, "close")) req.keep_alive = false;
      if (iequals(value, "keep-alive")) req.keep_alive = true;
    } else if (iequals(name, "transfer-encoding")) {
      return false;  // chunked request bodies are out of scope for the demo
    } else if (iequals(name, "traceparent")) {
      req.traceparent.assign(value);
    }
  }
  return true;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    default: return "Unknown";
  }
}

// The "payment" call of POST /api/orders: connect(2) + TLS handshake with SNI.
bool call_payment_peer(const Options& opts, const Tls& tls, uint64_t order_id) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(tls.peer_port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (ok) {
    SSL* ssl = SSL_new(tls.client_ctx);
    SSL_set_fd(ssl, fd);
    // A macro for SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, ...): tls.bt hooks SSL_ctrl.
    SSL_set_tlsext_host_name(ssl, opts.peer_name.c_str());
    ok = SSL_connect(ssl) == 1;
    if (ok) {
      std::string msg = "charge " + std::to_string(order_id) + "\n";
      char buf[64];
      ok = SSL_write(ssl, msg.data(), static_cast<int>(msg.size())) > 0 &&
           SSL_read(ssl, buf, sizeof buf) > 0;
      SSL_shutdown(ssl);
    }
    if (!ok) ERR_clear_error();
    SSL_free(ssl);
  }
  ::close(fd);
  return ok;
}

// A job step inside the request, probed as its own span with the request as parent.
int run_job(uint64_t parent_id, std::string_view name, std::chrono::microseconds work) {
  uint64_t id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  std::string job_name(name);
  DTRACE_PROBE3(demo, request_start, id, parent_id, job_name.c_str());
  std::this_thread::sleep_for(work);
  int status = 0;
  DTRACE_PROBE2(demo, request_end, id, status);
  return status;
}

std::optional<uint64_t> parse_item_id(std::string_view uri) {
  constexpr std::string_view kPrefix = "/api/items/";
  if (uri.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view digits = uri.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

Response route(const Options& opts, const Tls& tls, const Request& req) {
  using std::chrono::milliseconds;
  std::string_view path = req.uri;
  if (size_t q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  bool get = req.method == "GET";
  if (get && path == "/api/users") {
    std::this_thread::sleep_for(milliseconds(1 + req.id % 3));
    return {200, R"([{"id":1,"name":"ada"},{"id":2,"name":"linus"}])"};
  }
  if (req.method == "POST" && path == "/api/orders") {
    if (!call_payment_peer(opts, tls, req.id)) return {502, R"({"error":"payment peer"})"};
    run_job(req.id, "charge-order", std::chrono::microseconds(500));
    return {201, "{\"order\":" + std::to_string(req.id) + "}"};
  }
  if (get && path == "/api/slow") {
    std::this_thread::sleep_for(milliseconds(50));
    return {200, R"({"slow":true})"};
  }
  if (get && path == "/api/error") return {500, R"({"error":"boom"})"};
  if (get) {
    if (auto item = parse_item_id(path)) {
      return {200, "{\"item\":" + std::to_string(*item) + "}"};
    }
  }
  return {404, R"({"error":"not found"})"};
}

void serve_connection(const Options* opts, const Tls* tls, int fd) {
  std::string buf;
  Request req;
  std::string out;
  char chunk[8192];
  bool open = true;
  while (open) {
    size_t head_end = buf.find("\r\n\r\n");
    if (head_end == std::string::npos) {
      if (buf.size() > kMaxHeadBytes) break;
      if (!wait_readable(fd)) break;
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        break;
      }
      buf.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (!parse_head(std::string_view(buf).substr(0, head_end), req)) {
      send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      break;
    }
    size_t need = head_end + 4 + req.content_length;
    while (buf.size() < need && open) {
      if (!wait_readable(fd)) {
        open = false;
        break;
      }
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0 && !(n < 0 && errno == EINTR)) open = false;
      if (n > 0) buf.append(chunk, static_cast<size_t>(n));
    }
    if (!open) break;
    buf.erase(0, need);  // the demo ignores request bodies

    auto started = Clock::now();
    req.id = g_next_id.fetch_add(1, std::memory_order_relaxed);
    DTRACE_PROBE4(demo, http_request_start, req.id, req.method.c_str(), req.uri.c_str(),
                  req.traceparent.c_str());
    Response resp = route(*opts, *tls, req);
    bool keep_alive = req.keep_alive && !g_stop.load(std::memory_order_relaxed);
    out.clear();
    out += "HTTP/1.1 ";
    out += std::to_string(resp.status);
    out += ' ';
    out += reason(resp.status);
    out += "\r\nContent-Type: application/json\r\nContent-Length: ";
    out += std::to_string(resp.body.size());
    out += keep_alive ? "\r\nConnection: keep-alive\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
    out += resp.body;
    // The end probe fires before the response is written: once the client
    // has read the response it may stop its clock, so a probe after write(2)
    // could make the span longer than the latency the client measured.
    int status = resp.status;
    DTRACE_PROBE2(demo, http_request_end, req.id, status);
    bool sent = send_all(fd, out);

    if (opts->verbose) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      std::fprintf(stderr, "demo-server: id=%llu %s %s -> %d %lldus%s%s\n",
                   static_cast<unsigned long long>(req.id), req.method.c_str(), req.uri.c_str(),
                   status, static_cast<long long>(us.count()),
                   req.traceparent.empty() ? "" : " traceparent=", req.traceparent.c_str());
    }
    uint64_t done = g_completed.fetch_add(1) + 1;
    if (opts->max_requests != 0 && done >= opts->max_requests) request_stop();
    open = sent && keep_alive;
  }
  ::close(fd);
  g_connections.leave();
}

// SIGINT/SIGTERM are blocked in every thread and taken here, so no handler
// runs on an arbitrary thread.
void run_signal_waiter(sigset_t set) {
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) return;  // our own wake-up at exit
    request_stop();
    return;
  }
}

void usage() {
  std::fprintf(stderr,
               "usage: demo-server [--port N] [--max-requests N] [--port-file PATH] [--verbose]\n"
               "                   [--quiet] [--peer-name NAME]\n"
               "  --port N          listen on 127.0.0.1:N (default 8080; 0 picks a free port)\n"
               "  --max-requests N  exit after N requests (default: run until SIGINT/SIGTERM)\n"
               "  --port-file PATH  also write the chosen port to PATH\n"
               "  --verbose         one log line per request on stderr\n"
               "  --quiet           do not print the 'listening on' line to stdout\n"
               "  --peer-name NAME  SNI sent to the local TLS peer (default payments.local)\n");
}

bool parse_uint(const char* s, uint64_t max, uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-') return false;
  out = v;
  return true;
}

bool parse_args(int argc, char** argv, Options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    uint64_t n = 0;
    if (arg == "--port") {
      const char* v = value();
      if (v == nullptr || !parse_uint(v, 65535, n)) return false;
      opts.port = static_cast<uint16_t>(n);
    } else if (arg == "--max-requests") {
      const char* v = value();
      if (v == nullptr || !parse_uint(v, UINT64_MAX, n)) return false;
      opts.max_requests = n;
    } else if (arg == "--port-file") {
      const char* v = value();
      if (v == nullptr) return false;
      opts.port_file = v;
    } else if (arg == "--peer-name") {
      const char* v = value();
      if (v == nullptr || *v == '\0') return false;
      opts.peer_name = v;
    } else if (arg == "--verbose" || arg == "-v") {
      opts.verbose = true;
    } else if (arg == "--quiet" || arg == "-q") {
      opts.quiet = true;
    } else {
      return false;
    }
  }
  return true;
}

void write_port_file(const std::string& path, uint16_t port) {
  // Written then renamed, so a reader polling for the file never sees it half written.
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) die("port file");
  std::fprintf(f, "%u\n", static_cast<unsigned>(port));
  std::fclose(f);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) die("port file rename");
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  if (!parse_args(argc, argv, opts)) {
    usage();
    return 2;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  std::thread signal_thread(run_signal_waiter, set);

  Tls tls;
  if (!make_server_ctx(tls, opts.peer_name)) return 1;
  tls.client_ctx = SSL_CTX_new(TLS_client_method());
  if (tls.client_ctx == nullptr) {
    log_ssl_errors("TLS client setup");
    return 1;
  }
  SSL_CTX_set_verify(tls.client_ctx, SSL_VERIFY_NONE, nullptr);  // the peer is self-signed
  tls.peer_fd = listen_loopback(0, tls.peer_port);
  std::thread peer_thread(run_peer, &tls);

  uint16_t port = 0;
  int listen_fd = listen_loopback(opts.port, port);
  if (!opts.port_file.empty()) write_port_file(opts.port_file, port);
  if (!opts.quiet) {
    std::printf("listening on 127.0.0.1:%u pid %d\n", static_cast<unsigned>(port),
                static_cast<int>(::getpid()));
    std::fflush(stdout);
  }

  while (wait_readable(listen_fd)) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    g_connections.enter();
    std::thread(serve_connection, &opts, &tls, fd).detach();
  }
  request_stop();
  ::close(listen_fd);
  // In-flight requests finish (they may still need the TLS peer), then the peer stops.
  bool drained = g_connections.wait_zero(std::chrono::seconds(10));
  peer_thread.join();
  drained = g_peer_connections.wait_zero(std::chrono::seconds(5)) && drained;
  ::close(tls.peer_fd);
  pthread_kill(signal_thread.native_handle(), SIGUSR1);
  signal_thread.join();
  if (!drained) {
    // Detached threads may still use the contexts; leave them to process exit.
    std::fprintf(stderr, "demo-server: exiting with connections still open\n");
    return 0;
  }
  SSL_CTX_free(tls.client_ctx);
  SSL_CTX_free(tls.server_ctx);
  if (opts.verbose) {
    std::fprintf(stderr, "demo-server: served %llu requests\n",
                 static_cast<unsigned long long>(g_completed.load()));
  }
  return 0;
}
