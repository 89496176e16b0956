// demo-loadgen: HTTP/1.1 load generator for demo-server.
//
// Requests follow a deterministic schedule (the --mix list expanded by weight,
// cycled), so a test knows exactly how many requests of each route were sent.
// Prints a JSON summary on stdout; --record FILE writes one JSON line per
// request (what the end-to-end tests compare spans against).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

enum class Route { kUsers, kOrders, kSlow, kError, kItems, kNotFound };

struct RouteInfo {
  Route route;
  std::string_view name;
  std::string_view method;
};

constexpr RouteInfo kRoutes[] = {
    {Route::kUsers, "users", "GET"},   {Route::kOrders, "orders", "POST"},
    {Route::kSlow, "slow", "GET"},     {Route::kError, "error", "GET"},
    {Route::kItems, "items", "GET"},   {Route::kNotFound, "notfound", "GET"},
};

struct Options {
  uint16_t port = 8080;
  uint64_t requests = 100;
  unsigned concurrency = 4;
  std::string mix = "users,orders,slow,error,items";
  bool traceparent = false;
  bool keep_alive = true;
  int timeout_ms = 5000;
  uint64_t rate = 0;  // requests per second over all workers; 0 = as fast as possible
  std::string record;
};

struct Record {
  const RouteInfo* route = nullptr;
  std::string uri;
  std::string traceparent;
  int status = 0;  // 0: no response
  int64_t latency_ns = 0;
  int64_t start_unix_ns = 0;
  std::string error;
};

int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string hex(std::mt19937_64& rng, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  while (static_cast<int>(out.size()) < digits) {
    uint64_t v = rng();
    for (int i = 0; i < 16 && static_cast<int>(out.size()) < digits; ++i, v >>= 4) {
      out += kHex[v & 0xf];
    }
  }
  return out;
}

// W3C trace context, version 00, sampled.
std::string make_traceparent(std::mt19937_64& rng) {
  std::string trace_id, span_id;
  do trace_id = hex(rng, 32);
  while (trace_id.find_first_not_of('0') == std::string::npos);
  do span_id = hex(rng, 16);
  while (span_id.find_first_not_of('0') == std::string::npos);
  return "00-" + trace_id + "-" + span_id + "-01";
}

class Connection {
 public:
  explicit Connection(const Options& opts) : opts_(opts) {}
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool is_open() const { return fd_ >= 0; }

  bool open(std::string& error) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(error, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(opts_.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return fail(error, "connect");
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buf_.clear();
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends one request and reads one response. The connection is dropped when
  // the server announces "Connection: close" or on any error.
  bool exchange(std::string_view request, int& status, std::string& error) {
    std::string_view rest = request;
    while (!rest.empty()) {
      ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(error, "send");
      rest.remove_prefix(static_cast<size_t>(n));
    }
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(error)) return false;
    }
    std::string_view head(buf_.data(), head_end);
    // "HTTP/1.1 200 OK"
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return fail_msg(error, "bad status line");
    status = std::atoi(std::string(head.substr(9, 3)).c_str());
    size_t length = 0;
    bool close_after = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos) {
      size_t next = head.find("\r\n", pos + 2);
      std::string_view line = head.substr(pos + 2, next == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : next - pos - 2);
      std::string lower(line);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower.rfind("content-length:", 0) == 0) {
        length = std::strtoull(lower.c_str() + 15, nullptr, 10);
      } else if (lower.rfind("connection:", 0) == 0 && lower.find("close") != std::string::npos) {
        close_after = true;
      }
      pos = next;
    }
    size_t total = head_end + 4 + length;
    while (buf_.size() < total) {
      if (!fill(error)) return false;
    }
    buf_.erase(0, total);
    if (close_after || !opts_.keep_alive) close();
    return true;
  }

 private:
  bool fill(std::string& error) {
    pollfd pfd{fd_, POLLIN, 0};
    int rc = ::poll(&pfd, 1, opts_.timeout_ms);
    if (rc == 0) return fail_msg(error, "timeout");
    if (rc < 0) return fail(error, "poll");
    char chunk[8192];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) return fail_msg(error, "connection closed");
    if (n < 0) return fail(error, "recv");
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  bool fail(std::string& error, const char* what) {
    error = std::string(what) + ": " + std::strerror(errno);
    close();
    return false;
  }
  bool fail_msg(std::string& error, const char* what) {
    error = what;
    close();
    return false;
  }

  const Options& opts_;
  int fd_ = -1;
  std::string buf_;
};

std::string build_request(const Record& rec, const Options& opts) {
  std::string req;
  req += rec.route->method;
  req += ' ';
  req += rec.uri;
  req += " HTTP/1.1\r\nHost: 127.0.0.1:";
  req += std::to_string(opts.port);
  req += "\r\nUser-Agent: demo-loadgen\r\n";
  if (!rec.traceparent.empty()) {
    req += "traceparent: ";
    req += rec.traceparent;
    req += "\r\n";
  }
  if (!opts.keep_alive) req += "Connection: close\r\n";
  if (rec.route->route == Route::kOrders) {
    std::string body = R"({"item":42,"quantity":1})";
    req += "Content-Type: application/json\r\nContent-Length: ";
    req += std::to_string(body.size());
    req += "\r\n\r\n";
    req += body;
  } else {
    req += "\r\n";
  }
  return req;
}

std::string uri_for(Route route, uint64_t seq) {
  switch (route) {
    case Route::kUsers: return "/api/users";
    case Route::kOrders: return "/api/orders";
    case Route::kSlow: return "/api/slow";
    case Route::kError: return "/api/error";
    case Route::kItems: return "/api/items/" + std::to_string(seq);
    case Route::kNotFound: return "/api/nope";
  }
  return "/";
}

void run_worker(const Options& opts, std::atomic<uint64_t>& next, std::vector<Record>& records,
                uint64_t seed, Clock::time_point started) {
  std::mt19937_64 rng(seed);
  Connection conn(opts);
  while (true) {
    uint64_t i = next.fetch_add(1);
    if (i >= records.size()) break;
    if (opts.rate != 0) {
      // Open-loop pacing: request i is due at i/rate after the start.
      auto due = std::chrono::nanoseconds(i * 1000000000ULL / opts.rate);
      std::this_thread::sleep_until(started + due);
    }
    Record& rec = records[i];
    if (opts.traceparent) rec.traceparent = make_traceparent(rng);
    std::string request = build_request(rec, opts);
    // A reused keep-alive connection may have been closed by the server while
    // idle; such a failure is retried once on a fresh connection.
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = conn.is_open();
      rec.error.clear();
      rec.start_unix_ns = unix_now_ns();
      auto start = Clock::now();
      bool ok = (reused || conn.open(rec.error)) && conn.exchange(request, rec.status, rec.error);
      rec.latency_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
      if (ok) break;
      rec.status = 0;
      if (!reused) break;
    }
  }
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

bool parse_mix(std::string_view mix, std::vector<const RouteInfo*>& schedule) {
  while (!mix.empty()) {
    size_t comma = mix.find(',');
    std::string_view item = mix.substr(0, comma);
    mix = comma == std::string_view::npos ? std::string_view{} : mix.substr(comma + 1);
    unsigned long weight = 1;
    if (size_t colon = item.find(':'); colon != std::string_view::npos) {
      std::string w(item.substr(colon + 1));
      char* end = nullptr;
      weight = std::strtoul(w.c_str(), &end, 10);
      if (w.empty() || *end != '\0' || weight > 1000) return false;
      item = item.substr(0, colon);
    }
    const RouteInfo* found = nullptr;
    for (const RouteInfo& r : kRoutes) {
      if (r.name == item) found = &r;
    }
    if (found == nullptr) return false;
    schedule.insert(schedule.end(), weight, found);
  }
  return !schedule.empty();
}

void usage() {
  std::fprintf(stderr,
               "usage: demo-loadgen [--port P] [--requests N] [--concurrency C]\n"
               "                    [--mix users,orders,slow,error,items,notfound]\n"
               "                    [--traceparent] [--no-keepalive] [--timeout-ms MS]\n"
               "                    [--rate RPS] [--record FILE]\n"
               "  --mix           routes cycled in order; NAME:WEIGHT repeats a route\n"
               "                  (e.g. users:3,orders:1); default users,orders,slow,error,items\n"
               "  --traceparent   send a fresh W3C traceparent header with every request\n"
               "  --rate RPS      pace requests (all workers together); default: no pacing\n"
               "  --record FILE   one JSON line per request (seq order)\n");
}

bool parse_uint(const char* s, uint64_t max, uint64_t& out) {
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  out = v;
  return true;
}

bool parse_args(int argc, char** argv, Options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    uint64_t n = 0;
    if (arg == "--traceparent") {
      opts.traceparent = true;
    } else if (arg == "--no-keepalive") {
      opts.keep_alive = false;
    } else if (arg == "--port" && parse_uint(v, 65535, n) && n != 0) {
      opts.port = static_cast<uint16_t>(n), ++i;
    } else if (arg == "--requests" && parse_uint(v, 100000000, n)) {
      opts.requests = n, ++i;
    } else if (arg == "--concurrency" && parse_uint(v, 1024, n) && n != 0) {
      opts.concurrency = static_cast<unsigned>(n), ++i;
    } else if (arg == "--rate" && parse_uint(v, 10000000, n)) {
      opts.rate = n, ++i;
    } else if (arg == "--timeout-ms" && parse_uint(v, 600000, n) && n != 0) {
      opts.timeout_ms = static_cast<int>(n), ++i;
    } else if (arg == "--mix" && v != nullptr) {
      opts.mix = v, ++i;
    } else if (arg == "--record" && v != nullptr) {
      opts.record = v, ++i;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  std::vector<const RouteInfo*> schedule;
  if (!parse_args(argc, argv, opts) || !parse_mix(opts.mix, schedule)) {
    usage();
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);

  std::vector<Record> records(opts.requests);
  for (uint64_t i = 0; i < records.size(); ++i) {
    records[i].route = schedule[i % schedule.size()];
    records[i].uri = uri_for(records[i].route->route, i);
  }

  std::atomic<uint64_t> next{0};
  std::random_device seed_source;
  auto started = Clock::now();
  std::vector<std::thread> workers;
  unsigned threads = static_cast<unsigned>(
      std::min<uint64_t>(opts.concurrency, std::max<uint64_t>(opts.requests, 1)));
  for (unsigned t = 0; t < threads; ++t) {
    uint64_t seed = (static_cast<uint64_t>(seed_source()) << 32) ^ seed_source() ^ t;
    workers.emplace_back(run_worker, std::cref(opts), std::ref(next), std::ref(records), seed,
                         started);
  }
  for (auto& w : workers) w.join();
  double elapsed_s = std::chrono::duration<double>(Clock::now() - started).count();

  if (!opts.record.empty()) {
    FILE* f = std::fopen(opts.record.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "demo-loadgen: cannot write %s: %s\n", opts.record.c_str(),
                   std::strerror(errno));
      return 1;
    }
    for (uint64_t i = 0; i < records.size(); ++i) {
      const Record& r = records[i];
      std::fprintf(f,
                   "{\"seq\":%llu,\"route\":\"%.*s\",\"method\":\"%.*s\",\"uri\":\"%s\","
                   "\"status\":%d,\"latency_ns\":%lld,\"start_unix_ns\":%lld,"
                   "\"traceparent\":\"%s\"%s%s%s}\n",
                   static_cast<unsigned long long>(i), static_cast<int>(r.route->name.size()),
                   r.route->name.data(), static_cast<int>(r.route->method.size()),
                   r.route->method.data(), json_escape(r.uri).c_str(), r.status,
                   static_cast<long long>(r.latency_ns), static_cast<long long>(r.start_unix_ns),
                   r.traceparent.c_str(), r.error.empty() ? "" : ",\"error\":\"",
                   json_escape(r.error).c_str(), r.error.empty() ? "" : "\"");
    }
    std::fclose(f);
  }

  std::map<std::string_view, uint64_t> per_route;
  std::map<int, uint64_t> per_status;
  std::vector<int64_t> latencies;
  uint64_t failed = 0;
  std::string first_error;
  for (const Record& r : records) {
    ++per_route[r.route->name];
    if (r.status == 0) {
      ++failed;
      if (first_error.empty()) first_error = r.error;
      continue;
    }
    ++per_status[r.status];
    latencies.push_back(r.latency_ns);
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct_us = [&](double p) -> long long {
    if (latencies.empty()) return 0;
    size_t idx = static_cast<size_t>(p * static_cast<double>(latencies.size() - 1) + 0.5);
    return static_cast<long long>(latencies[idx] / 1000);
  };

  std::string out = "{\"total\":" + std::to_string(records.size()) +
                    ",\"ok\":" + std::to_string(records.size() - failed) +
                    ",\"failed\":" + std::to_string(failed);
  char num[64];
  std::snprintf(num, sizeof num, "%.3f", elapsed_s * 1000);
  out += ",\"elapsed_ms\":";
  out += num;
  std::snprintf(num, sizeof num, "%.1f", elapsed_s > 0 ? records.size() / elapsed_s : 0.0);
  out += ",\"rps\":";
  out += num;
  out += ",\"routes\":{";
  bool first = true;
  for (auto& [name, count] : per_route) {
    out += (first ? "\"" : ",\"") + std::string(name) + "\":" + std::to_string(count);
    first = false;
  }
  out += "},\"status\":{";
  first = true;
  for (auto& [status, count] : per_status) {
    out += (first ? "\"" : ",\"") + std::to_string(status) + "\":" + std::to_string(count);
    first = false;
  }
  out += "},\"latency_us\":{\"p50\":" + std::to_string(pct_us(0.50)) +
         ",\"p99\":" + std::to_string(pct_us(0.99)) +
         ",\"max\":" + std::to_string(latencies.empty() ? 0 : latencies.back() / 1000) + "}";
  if (!first_error.empty()) out += ",\"first_error\":\"" + json_escape(first_error) + "\"";
  out += "}\n";
  std::fputs(out.c_str(), stdout);
  return failed == 0 ? 0 : 1;
}
