// A loopback OTLP/HTTP receiver that misbehaves on a schedule, for the fault
// soak (scripts/soak.sh). It cycles through modes:
//
//   ok      200 with an empty ExportTraceServiceResponse; the spans count as received
//   503     503 Service Unavailable (Retry-After only with --retry-after-503)
//   429     429 Too Many Requests with Retry-After: --retry-after seconds
//   reset   reads the request, then closes with a TCP RST (SO_LINGER 0)
//   stall   reads the request, answers nothing for --stall-ms, then closes
//   down    closes the listening socket and every connection; the port
//           refuses connections until the mode ends, then is bound again
//
// --delay-ms N makes the ok mode slow: each request is answered N ms late.
//
// Spans count as received only when the 200 was sent in full, so what the
// exporter could not know was delivered is never counted. Every span id is
// remembered (open-addressing set of the 8-byte ids): a span id seen again is
// a duplicate, not a second reception.
//
//   fault_receiver --port-file P --stats-file S --schedule ok:2000,503:1500,ok:2000,stall:3000
//
// SIGUSR1 writes the stats file (a snapshot); SIGTERM/SIGINT write it and exit.
//
// The HTTP request reader, gunzip and the span walk are counting_receiver's
// (http_receiver.h); the fault modes and the id set are this tool's own.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http_receiver.h"

namespace {

using bto::bench::HttpRequest;
using bto::bench::HttpRequestReader;
using bto::bench::kHttpBadRequest;
using bto::bench::kHttpOk;
using bto::bench::send_all;

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class Mode : int { kOk, k503, k429, kReset, kStall, kDown };
constexpr const char* kModeNames[] = {"ok", "503", "429", "reset", "stall", "down"};
constexpr int kModes = 6;

bool parse_mode(std::string_view text, Mode& mode) {
  for (int i = 0; i < kModes; ++i) {
    if (text == kModeNames[i]) {
      mode = static_cast<Mode>(i);
      return true;
    }
  }
  return false;
}

struct Step {
  Mode mode;
  milliseconds duration;
};

// The set of span ids received. 0 is the empty slot (an all-zero id is invalid in OTLP).
class IdSet {
 public:
  IdSet() : slots_(1 << 20, 0) {}
  // True when the id was new.
  bool insert(uint64_t id) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    return place(slots_, id);
  }
  size_t size() const { return size_; }

 private:
  bool place(std::vector<uint64_t>& table, uint64_t id) {
    const size_t mask = table.size() - 1;
    for (size_t i = (id * 0x9E3779B97F4A7C15ull) >> 20 & mask;; i = (i + 1) & mask) {
      if (table[i] == id) return false;
      if (table[i] == 0) {
        table[i] = id;
        ++size_;
        return true;
      }
    }
  }
  void grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    size_ = 0;
    for (const uint64_t id : slots_) {
      if (id != 0) place(bigger, id);
    }
    slots_.swap(bigger);
  }
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

struct Stats {
  std::atomic<uint64_t> connections{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> answered[kModes] = {};  // requests per mode they met (down: cut connections)
  std::atomic<uint64_t> phases[kModes] = {};    // how often each mode began
  std::atomic<uint64_t> spans_in_ok_requests{0};
  std::atomic<uint64_t> spans_received{0};  // distinct span ids in 200-answered requests
  std::atomic<uint64_t> duplicates{0};      // span ids received again
  std::atomic<uint64_t> ok_send_failed{0};  // 200 not sent in full: spans not counted
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> bad_ids{0};
  std::atomic<uint64_t> other_requests{0};  // not to /v1/traces: answered 200, not counted
  std::atomic<uint64_t> body_bytes{0};
};

// span ids of ExportTraceServiceRequest.resource_spans(1).scope_spans(2).spans(2).span_id(2)
bool span_ids(const uint8_t* data, size_t size, std::vector<uint64_t>& ids, uint64_t& bad) {
  return bto::bench::for_each_span(data, size, [&](const uint8_t* sp, size_t sp_size) {
    uint64_t id = 0;
    size_t trace_id = 0, span_id = 0;
    const bool ok = bto::bench::walk_message(sp, sp + sp_size, [&](uint32_t f, const uint8_t* v, size_t len) {
      if (f == 1) trace_id = len;
      if (f == 2) {
        span_id = len;
        if (len == 8) std::memcpy(&id, v, 8);
      }
      return true;
    });
    if (!ok || trace_id != 16 || span_id != 8 || id == 0) {
      ++bad;
      return ok;
    }
    ids.push_back(id);
    return true;
  });
}

struct Config {
  int port = 0;
  std::vector<Step> schedule;
  int retry_after = 1;
  int retry_after_503 = 0;
  milliseconds stall{3000};
  milliseconds delay{0};
  std::string port_file;
  std::string stats_file;
};

class FaultReceiver {
 public:
  explicit FaultReceiver(const Config& config) : config_(config) { bind_listener(config.port); }

  int port() const { return port_; }
  Stats& stats() { return stats_; }

  void set_mode(Mode mode) {
    mode_.store(mode);
    ++stats_.phases[static_cast<int>(mode)];
  }

  void stop() { stopping_ = true; }

  void accept_loop() {
    while (!stopping_) {
      if (mode_.load() == Mode::kDown) {
        if (listen_fd_ >= 0) go_down();
        std::this_thread::sleep_for(milliseconds(10));
        continue;
      }
      if (listen_fd_ < 0) bind_listener(port_);
      if (listen_fd_ < 0) {  // port still taken (TIME_WAIT is allowed by SO_REUSEADDR): retry
        std::this_thread::sleep_for(milliseconds(10));
        continue;
      }
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++stats_.connections;
      std::lock_guard lock(connections_mutex_);
      open_fds_.push_back(fd);
      threads_.emplace_back([this, fd] { serve(fd); });
    }
    if (listen_fd_ >= 0) go_down();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(connections_mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  void write_stats() {
    std::string text;
    auto add = [&](const std::string& key, uint64_t value) { text += key + "=" + std::to_string(value) + "\n"; };
    add("port", static_cast<uint64_t>(port_));
    add("connections", stats_.connections);
    add("requests", stats_.requests);
    for (int i = 0; i < kModes; ++i) add(std::string("answered_") + kModeNames[i], stats_.answered[i]);
    for (int i = 0; i < kModes; ++i) add(std::string("phases_") + kModeNames[i], stats_.phases[i]);
    add("spans_in_ok_requests", stats_.spans_in_ok_requests);
    add("spans_received", stats_.spans_received);
    add("duplicates", stats_.duplicates);
    add("ok_send_failed", stats_.ok_send_failed);
    add("bad_requests", stats_.bad_requests);
    add("bad_ids", stats_.bad_ids);
    add("other_requests", stats_.other_requests);
    add("body_bytes", stats_.body_bytes);
    if (config_.stats_file.empty()) {
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
      return;
    }
    const std::string tmp = config_.stats_file + ".tmp";
    if (std::FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fputs(text.c_str(), f);
      std::fclose(f);
      std::rename(tmp.c_str(), config_.stats_file.c_str());
    }
  }

 private:
  void bind_listener(int port) { listen_fd_ = bto::bench::listen_loopback(port, port_); }

  // Port closed, live connections cut: what a restarted collector looks like.
  void go_down() {
    ::close(listen_fd_);
    listen_fd_ = -1;
    std::lock_guard lock(connections_mutex_);
    for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }

  void forget(int fd) {
    std::lock_guard lock(connections_mutex_);
    for (auto it = open_fds_.begin(); it != open_fds_.end(); ++it) {
      if (*it == fd) {
        open_fds_.erase(it);
        break;
      }
    }
    ::close(fd);
  }

  void reset_connection(int fd) {
    const linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  }

  void serve(int fd) {
    serve_requests(fd);
    forget(fd);
  }

  // Returns when the connection is to be closed.
  void serve_requests(int fd) {
    HttpRequestReader reader(fd);
    HttpRequest request;
    std::string plain;
    std::vector<uint64_t> ids;
    const std::string k503 =
        config_.retry_after_503 > 0
            ? "HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + std::to_string(config_.retry_after_503) +
                  "\r\nContent-Length: 0\r\n\r\n"
            : std::string("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    const std::string k429 = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: " +
                             std::to_string(config_.retry_after) + "\r\nContent-Length: 0\r\n\r\n";
    while (reader.next(request)) {
      ++stats_.requests;
      stats_.body_bytes += request.body.size();

      // Only trace exports meet the faults and are counted; anything else
      // (span metrics to /v1/metrics) gets a plain 200.
      if (request.target != "/v1/traces") {
        ++stats_.other_requests;
        if (!send_all(fd, kHttpOk)) return;
        continue;
      }
      const Mode mode = mode_.load();
      ++stats_.answered[static_cast<int>(mode)];
      switch (mode) {
        case Mode::kDown:  // the acceptor is cutting every connection
        case Mode::kReset:
          reset_connection(fd);
          return;
        case Mode::kStall: {
          // Hold the request past the exporter's timeout; leave early only if the client hangs up.
          const auto until = Clock::now() + config_.stall;
          while (Clock::now() < until && !stopping_) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) > 0) {
              char probe;
              if (::recv(fd, &probe, 1, MSG_PEEK) <= 0) break;
            }
          }
          return;
        }
        case Mode::k503:
          if (!send_all(fd, k503)) return;
          continue;
        case Mode::k429:
          if (!send_all(fd, k429)) return;
          continue;
        case Mode::kOk:
          break;
      }
      // A slow collector: every accepted request takes this long to answer.
      if (config_.delay.count() > 0) std::this_thread::sleep_for(config_.delay);
      const std::string* message = bto::bench::plain_body(request, plain);
      ids.clear();
      uint64_t bad = 0;
      const bool ok = message != nullptr &&
                      span_ids(reinterpret_cast<const uint8_t*>(message->data()), message->size(), ids, bad);
      stats_.bad_ids += bad;
      if (!ok) {
        ++stats_.bad_requests;
        if (!send_all(fd, kHttpBadRequest)) return;
        continue;
      }
      if (!send_all(fd, kHttpOk)) {
        ++stats_.ok_send_failed;
        return;
      }
      // Counted only once the 200 is out: the exporter then knows it was delivered.
      stats_.spans_in_ok_requests += ids.size();
      uint64_t fresh = 0;
      {
        std::lock_guard lock(ids_mutex_);
        for (const uint64_t id : ids) fresh += ids_.insert(id) ? 1 : 0;
      }
      stats_.spans_received += fresh;
      stats_.duplicates += ids.size() - fresh;
    }
  }

  Config config_;
  Stats stats_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<Mode> mode_{Mode::kOk};
  std::atomic<bool> stopping_{false};
  std::mutex connections_mutex_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::mutex ids_mutex_;
  IdSet ids_;
};

bool parse_schedule(const std::string& text, std::vector<Step>& steps) {
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    const size_t colon = item.find(':');
    Step step{};
    if (colon == std::string::npos || !parse_mode(std::string_view(item).substr(0, colon), step.mode)) return false;
    try {
      step.duration = milliseconds(std::stol(item.substr(colon + 1)));
    } catch (...) {
      return false;
    }
    if (step.duration.count() <= 0) return false;
    steps.push_back(step);
    pos = comma + 1;
  }
  return !steps.empty();
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  std::string schedule = "ok:1000000000";
  long stall_ms = 3000;
  long delay_ms = 0;
  CLI::App app{"Loopback OTLP/HTTP receiver that fails on a schedule (fault soak)"};
  app.add_option("--port", config.port, "port on 127.0.0.1 (0 = ephemeral)");
  app.add_option("--schedule", schedule, "mode:ms,... cycled: modes ok, 503, 429, reset, stall, down");
  app.add_option("--retry-after", config.retry_after, "Retry-After seconds sent with 429");
  app.add_option("--retry-after-503", config.retry_after_503, "Retry-After seconds sent with 503 (0 = none)");
  app.add_option("--stall-ms", stall_ms, "how long a stalled request is held before the connection is closed");
  app.add_option("--delay-ms", delay_ms, "answer every request of an ok phase this much later (a slow collector)");
  app.add_option("--port-file", config.port_file, "write the port here once listening");
  app.add_option("--stats-file", config.stats_file, "write key=value stats here on SIGUSR1 and at exit");
  CLI11_PARSE(app, argc, argv);
  config.stall = milliseconds(stall_ms);
  config.delay = milliseconds(delay_ms);
  if (!parse_schedule(schedule, config.schedule)) {
    std::fprintf(stderr, "fault_receiver: bad --schedule '%s'\n", schedule.c_str());
    return 2;
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);  // before any thread starts
  std::signal(SIGPIPE, SIG_IGN);

  FaultReceiver receiver(config);
  if (receiver.port() == 0) {
    std::fprintf(stderr, "fault_receiver: cannot listen on 127.0.0.1:%d\n", config.port);
    return 1;
  }
  receiver.set_mode(config.schedule[0].mode);
  std::thread acceptor([&] { receiver.accept_loop(); });
  if (!config.port_file.empty()) {
    const std::string tmp = config.port_file + ".tmp";
    if (std::FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "%d\n", receiver.port());
      std::fclose(f);
      std::rename(tmp.c_str(), config.port_file.c_str());
    }
  }

  // The main thread runs the schedule and waits for signals.
  size_t step = 0;
  auto step_end = Clock::now() + config.schedule[0].duration;
  for (;;) {
    const auto now = Clock::now();
    if (now >= step_end) {
      step = (step + 1) % config.schedule.size();
      receiver.set_mode(config.schedule[step].mode);
      step_end = now + config.schedule[step].duration;
      continue;
    }
    timespec wait{};
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(step_end - now).count();
    wait.tv_sec = left / 1'000'000'000;
    wait.tv_nsec = left % 1'000'000'000;
    const int sig = sigtimedwait(&mask, nullptr, &wait);
    if (sig == SIGUSR1) {
      receiver.write_stats();
    } else if (sig == SIGTERM || sig == SIGINT) {
      break;
    }
  }
  receiver.stop();
  acceptor.join();
  receiver.write_stats();
  return 0;
}
