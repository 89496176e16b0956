#include "source/bpftrace_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/errors.h"
#include "common/log.h"
#include "source/bpftrace_command.h"
#include "source/child_process.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A bpftrace that exits non-zero this soon after starting failed to start,
// even if it printed attached_probes (it does so before attaching kprobes
// and before creating maps).
constexpr milliseconds kStartupWindow{2000};
constexpr size_t kKeptOutputLines = 20;
constexpr size_t kStderrLineBytes = 4096;
// Reads per wake-up before looking at stderr, stop requests and ticks again.
constexpr int kReadsPerWakeup = 16;
// Bound on the final drain when something else (bpftrace -c's command)
// keeps the pipe open and writing after bpftrace has exited.
constexpr int kMaxDrainReads = 4096;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::string_view kAttachedPrefix = R"({"type": "attached_probes")";

// bpftrace's last messages (stderr and non-JSON stdout), for diagnosis.
class OutputRing {
 public:
  void add(std::string_view line) {
    if (lines_.size() == kKeptOutputLines) lines_.pop_front();
    lines_.emplace_back(line);
  }
  std::vector<std::string> lines() const { return {lines_.begin(), lines_.end()}; }
  void clear() { lines_.clear(); }

 private:
  std::deque<std::string> lines_;
};

class StdoutFilter final : public LineHandler {
 public:
  StdoutFilter(LineHandler& next, SourceStats& stats, OutputRing& ring, RateLimitedLog& log)
      : next_(next), stats_(stats), ring_(ring), log_(log) {}

  void on_line(std::string_view line) override {
    if (line.front() != '{') {
      stats_.message_lines.fetch_add(1, std::memory_order_relaxed);
      ring_.add(line);
      log_.warn("bpftrace: {}", quote_bytes(line, 400));
      return;
    }
    if (!attached_ && line.starts_with(kAttachedPrefix)) {
      attached_ = true;
      stats_.attached.store(true);  // [telemetry] for /readyz
      spdlog::info("bpftrace attached its probes: {}", quote_bytes(line, 200));
    }
    stats_.stdout_lines.fetch_add(1, std::memory_order_relaxed);
    next_.on_line(line);
  }

  void on_oversized_line(std::string_view prefix, size_t length) override {
    stats_.oversized_lines.fetch_add(1, std::memory_order_relaxed);
    next_.on_oversized_line(prefix, length);
  }

  bool attached() const noexcept { return attached_; }

 private:
  LineHandler& next_;
  SourceStats& stats_;
  OutputRing& ring_;
  RateLimitedLog& log_;
  bool attached_ = false;
};

class StderrSink final : public LineHandler {
 public:
  StderrSink(SourceStats& stats, OutputRing& ring, RateLimitedLog& log) : stats_(stats), ring_(ring), log_(log) {}

  void on_line(std::string_view line) override {
    stats_.stderr_lines.fetch_add(1, std::memory_order_relaxed);
    if (is_harmless_bpftrace_message(line)) {
      spdlog::debug("bpftrace: {}", quote_bytes(line, 400));
      return;
    }
    ring_.add(line);
    log_.warn("bpftrace: {}", quote_bytes(line, 400));
  }

  void on_oversized_line(std::string_view prefix, size_t length) override {
    stats_.stderr_lines.fetch_add(1, std::memory_order_relaxed);
    ring_.add(prefix);
    log_.warn("bpftrace: {}... ({} bytes)", quote_bytes(prefix, 400), length);
  }

 private:
  SourceStats& stats_;
  OutputRing& ring_;
  RateLimitedLog& log_;
};

struct RunOutcome {
  int wait_status = 0;
  bool attached = false;
  bool stopped = false;  // we sent the stop signals
  Clock::duration elapsed{};
};

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

int poll_timeout(Clock::time_point now, std::initializer_list<std::optional<Clock::time_point>> deadlines) {
  std::optional<Clock::duration> shortest;
  for (const auto& deadline : deadlines) {
    if (!deadline) continue;
    const auto left = *deadline - now;
    if (!shortest || left < *shortest) shortest = left;
  }
  if (!shortest) return -1;
  // Round up so we do not wake a moment before the deadline and spin.
  const auto ms = std::chrono::ceil<milliseconds>(*shortest).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
}

class BpftraceSourceImpl final : public BpftraceSource {
 public:
  BpftraceSourceImpl(const SourceOptions& options, SourceStats& stats) : options_(options), stats_(stats) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw StartupError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
    }
    wake_read_ = fds[0];
    wake_write_ = fds[1];
  }

  ~BpftraceSourceImpl() override {
    ::close(wake_read_);
    ::close(wake_write_);
  }

  void check() override {
    check_options();
    const char* path_env = std::getenv("PATH");
    auto resolved = find_executable(options_.bpftrace_path, path_env != nullptr ? path_env : kDefaultPath);
    if (!resolved) {
      if (options_.bpftrace_path.find('/') != std::string::npos) {
        throw StartupError(fmt::format("bpftrace not found at {} (not an executable file): fix --bpftrace PATH, or "
                                       "install bpftrace with `apt-get install bpftrace` and drop --bpftrace",
                                       options_.bpftrace_path));
      }
      throw StartupError(
          "bpftrace not found: install it with `apt-get install bpftrace` or pass --bpftrace PATH");
    }
    bpftrace_ = *resolved;

    bool ok = false;
    const std::string status = read_file("/proc/self/status", ok);
    if (ok && !has_bpf_capabilities(status)) {
      throw StartupError(
          ::geteuid() == 0
              ? "insufficient privileges: running as root but without CAP_SYS_ADMIN or CAP_BPF (a restricted "
                "container?): run the container privileged or add cap_add: [SYS_ADMIN] (or BPF, PERFMON)"
              : "insufficient privileges: bpftrace needs root: run with sudo (or as root in the container)");
    }

    std::string script_text = options_.program_text;
    if (options_.program_text.empty()) {
      script_text = read_file(options_.script_path, ok);
      if (!ok) {
        throw StartupError(fmt::format("cannot read bpftrace script {}: {} (check --script / BPF_SCRIPT)",
                                       options_.script_path, std::strerror(errno)));
      }
    }
    tracefs_ = tracefs_available();
    if (!tracefs_) {
      if (script_uses_tracepoints(script_text)) {
        throw StartupError(
            "tracefs is not mounted and the script uses tracepoints: mount it with "
            "`mount -t tracefs nodev /sys/kernel/tracing` (in a container: mount /sys/kernel/tracing from the host)");
      }
      spdlog::warn("tracefs is not mounted (no /sys/kernel/tracing/events); tracepoints would not work: "
                   "mount -t tracefs nodev /sys/kernel/tracing");
    }

    if (options_.target_pid != 0) {
      target_start_time_ = process_start_time(options_.target_pid);
      if (!target_start_time_) {
        throw StartupError(fmt::format("no such process: PID {} (check --pid / TARGET_PID; in a container the "
                                       "target's PID namespace must be shared, e.g. pid: container:app)",
                                       options_.target_pid));
      }
    } else if (options_.mode == "usdt" && options_.command.empty()) {
      spdlog::info("mode usdt without a target PID: probes defined at run time (libstapsdt) are only found with "
                   "--pid; probes compiled into a binary attach system-wide");
    }
    checked_ = true;
  }

  SourceResult run(LineHandler& lines, const std::function<void()>& tick, milliseconds tick_interval) override {
    tick_ = &tick;
    tick_interval_ = std::max(tick_interval, milliseconds(1));
    next_tick_ = Clock::now() + tick_interval_;
    SourceResult result;
    if (!checked_) {
      try {
        check();
      } catch (const StartupError& e) {
        result.message = e.what();
        return result;
      }
    }
    const auto argv = build_bpftrace_argv(options_, bpftrace_);
    milliseconds backoff = options_.initial_restart_backoff;
    for (int attempt = 0;; ++attempt) {
      if (stop_requested_.load()) {
        result.end = SourceEnd::kStopped;
        return result;
      }
      spdlog::info("starting {}", fmt::join(argv, " "));
      std::unique_ptr<ChildProcess> child;
      try {
        child = spawn_child(bpftrace_, argv);
      } catch (const StartupError& e) {
        result.end = SourceEnd::kFailed;
        result.message = e.what();
        return result;
      }
      stats_.starts.fetch_add(1, std::memory_order_relaxed);
      if (attempt > 0) stats_.restarts.fetch_add(1, std::memory_order_relaxed);
      current_pid_.store(child->pid());
      const RunOutcome outcome = supervise(*child, lines);
      current_pid_.store(0);
      stats_.attached.store(false);  // [telemetry] for /readyz
      child.reset();

      const int status = outcome.wait_status;
      result.bpftrace_exit_code = wait_status_code(status);
      stats_.last_exit_code.store(result.bpftrace_exit_code);
      const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      spdlog::log(clean || outcome.stopped ? spdlog::level::info : spdlog::level::warn, "bpftrace ended: {}",
                  describe_wait_status(status));

      if (outcome.stopped) {
        result.end = SourceEnd::kStopped;
        return result;
      }
      if (options_.target_pid != 0 && !target_alive()) {
        spdlog::info("target process {} has exited", options_.target_pid);
        result.end = SourceEnd::kTargetExited;
        return result;
      }
      const bool early = WIFEXITED(status) && !clean && (!outcome.attached || outcome.elapsed < kStartupWindow);
      if (attempt == 0 && early) {
        result.end = SourceEnd::kFailed;
        result.message = diagnose_failure(ring_.lines(), status, tracefs_).message;
        return result;
      }
      if (clean) {
        result.end = options_.command.empty() ? SourceEnd::kBpftraceExited : SourceEnd::kTargetExited;
        return result;
      }
      const std::string what = fmt::format("bpftrace {}", describe_wait_status(status));
      if (!options_.command.empty() || options_.restart == SourceOptions::RestartPolicy::kNever) {
        // With -c a restart would run the command a second time.
        result.end = SourceEnd::kFailed;
        result.message = failure_message(what, "");
        return result;
      }
      if (options_.max_restarts > 0 && attempt >= options_.max_restarts) {
        result.end = SourceEnd::kFailed;
        result.message = failure_message(what, fmt::format(" (gave up after {} restarts)", attempt));
        return result;
      }
      // A run that stayed up longer than the longest backoff was healthy:
      // start the backoff sequence over.
      if (outcome.attached && outcome.elapsed >= options_.max_restart_backoff) {
        backoff = options_.initial_restart_backoff;
      }
      spdlog::warn("{} unexpectedly; restarting it in {} ms (restart {})", what, backoff.count(), attempt + 1);
      if (!sleep_interruptibly(backoff)) {
        result.end = SourceEnd::kStopped;
        return result;
      }
      if (options_.target_pid != 0 && !target_alive()) {
        spdlog::info("target process {} has exited", options_.target_pid);
        result.end = SourceEnd::kTargetExited;
        return result;
      }
      backoff = std::min(backoff * 2, options_.max_restart_backoff);
    }
  }

  void request_stop() noexcept override {
    stop_requested_.store(true);
    const char byte = 1;
    // A full pipe already holds a wake-up: nothing to do on EAGAIN.
    [[maybe_unused]] const ssize_t ignored = ::write(wake_write_, &byte, 1);
  }

  int bpftrace_pid() const noexcept override { return current_pid_.load(); }

 private:
  void check_options() const {
    if (options_.script_path.empty() == options_.program_text.empty()) {
      throw StartupError(options_.script_path.empty()
                             ? "no bpftrace script: pass --script PATH (or set BPF_SCRIPT)"
                             : "give either a script file or a program text, not both");
    }
    if (options_.mode != "usdt" && options_.mode != "native-usdt") {
      throw StartupError(fmt::format("unknown mode '{}': use usdt or native-usdt (--mode / EXPORTER_MODE)",
                                     quote_bytes(options_.mode)));
    }
    if (options_.target_pid < 0) {
      throw StartupError(fmt::format("invalid target PID {}", options_.target_pid));
    }
    if (options_.target_pid != 0 && !options_.command.empty()) {
      throw StartupError("--pid and -c cannot be used together: -c starts the target itself");
    }
  }

  bool target_alive() const {
    const auto start_time = process_start_time(options_.target_pid);
    return start_time && start_time == target_start_time_;
  }

  std::string failure_message(const std::string& what, const std::string& suffix) const {
    std::string message = fmt::format("{}{}", what, suffix);
    const auto output = ring_.lines();
    if (!output.empty()) {
      message += "; bpftrace said:";
      for (const auto& line : output) {
        message += "\n  ";
        message += quote_bytes(line, 400);
      }
    }
    return message;
  }

  void maybe_tick(Clock::time_point now) {
    if (now < next_tick_) return;
    next_tick_ = now + tick_interval_;
    if (*tick_) (*tick_)();
  }

  void drain_wake_pipe() {
    char buffer[64];
    while (::read(wake_read_, buffer, sizeof buffer) > 0) {
    }
  }

  // False when a stop was requested.
  bool sleep_interruptibly(milliseconds duration) {
    const auto deadline = Clock::now() + duration;
    while (!stop_requested_.load()) {
      const auto now = Clock::now();
      maybe_tick(now);
      if (now >= deadline) return true;
      pollfd p{wake_read_, POLLIN, 0};
      ::poll(&p, 1, poll_timeout(now, {deadline, next_tick_}));
      drain_wake_pipe();
    }
    return false;
  }

  // The pipe's capacity after trying to enlarge it, 0 if unknown.
  size_t enlarge_pipe(int fd) {
    if (options_.pipe_bytes != 0) {
      const int size = static_cast<int>(std::min<size_t>(options_.pipe_bytes, INT32_MAX));
      if (::fcntl(fd, F_SETPIPE_SZ, size) < 0) {
        // Unprivileged processes are capped by /proc/sys/fs/pipe-max-size.
        spdlog::debug("could not enlarge bpftrace's output pipe to {} bytes: {}", size, std::strerror(errno));
      }
    }
    const int capacity = ::fcntl(fd, F_GETPIPE_SZ);
    return capacity > 0 ? static_cast<size_t>(capacity) : 0;
  }

  // Waiting only after reads of less than a quarter of the pipe keeps a steady
  // stream (and a 4x burst) from filling it during the wait: bpftrace never
  // blocks on its output because we coalesce.
  size_t coalesce_threshold(size_t pipe_capacity) const noexcept {
    if (pipe_capacity == 0) return 0;  // unknown: never wait
    return std::min(options_.coalesce_below_bytes, pipe_capacity / 4);
  }

  // Sleeps read_coalesce unless a stop is requested meanwhile (wake pipe).
  void coalesce_wait() {
    if (options_.read_coalesce.count() <= 0 || stop_requested_.load()) return;
    const auto us = options_.read_coalesce.count();
    const timespec timeout{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
    pollfd p{wake_read_, POLLIN, 0};
    ::ppoll(&p, 1, &timeout, nullptr);
  }

  // Reads until the pipe is empty or `max_reads` reads; false at end of file
  // or on an error.
  static bool read_available(LineReader& reader, LineHandler& handler, int max_reads) {
    for (int i = 0; i < max_reads; ++i) {
      switch (reader.read_some(handler)) {
        case ReadStatus::kData:
          break;
        case ReadStatus::kWouldBlock:
          return true;
        case ReadStatus::kEndOfFile:
          return false;
        case ReadStatus::kError:
          spdlog::warn("reading bpftrace output failed: {}", std::strerror(errno));
          return false;
      }
    }
    return true;
  }

  RunOutcome supervise(ChildProcess& child, LineHandler& lines) {
    ring_.clear();
    StdoutFilter out_handler(lines, stats_, ring_, log_);
    StderrSink err_handler(stats_, ring_, log_);
    LineReader out(child.stdout_fd(), options_.max_line_bytes, options_.read_chunk_bytes);
    const size_t coalesce_below = coalesce_threshold(enlarge_pipe(child.stdout_fd()));
    LineReader err(child.stderr_fd(), kStderrLineBytes, kStderrLineBytes);
    bool out_open = true;
    bool err_open = true;
    int stop_stage = 0;  // 1: SIGINT sent, 2: SIGTERM sent, 3: SIGKILL sent
    std::optional<Clock::time_point> escalate_at;
    const auto started = Clock::now();
    RunOutcome outcome;

    for (;;) {
      if (stop_requested_.load() && stop_stage == 0) {
        // bpftrace prints its maps and exits on SIGINT; keep reading meanwhile.
        spdlog::info("stopping bpftrace (pid {})", child.pid());
        child.signal(SIGINT, /*group=*/false);
        stop_stage = 1;
        escalate_at = Clock::now() + options_.stop_grace;
      }
      if (auto status = child.try_wait()) {
        outcome.wait_status = *status;
        break;
      }
      pollfd fds[4];
      nfds_t count = 0;
      fds[count++] = {wake_read_, POLLIN, 0};
      const nfds_t out_index = out_open ? count : 99;
      if (out_open) fds[count++] = {out.fd(), POLLIN, 0};
      const nfds_t err_index = err_open ? count : 99;
      if (err_open) fds[count++] = {err.fd(), POLLIN, 0};
      if (child.exit_fd() >= 0) fds[count++] = {child.exit_fd(), POLLIN, 0};
      auto now = Clock::now();
      std::optional<Clock::time_point> exit_check;
      if (child.exit_fd() < 0) exit_check = now + milliseconds(20);
      const int ready = ::poll(fds, count, poll_timeout(now, {next_tick_, escalate_at, exit_check}));
      if (ready > 0) {
        if (fds[0].revents != 0) drain_wake_pipe();
        if (out_index != 99 && fds[out_index].revents != 0) {
          const uint64_t before = out.bytes_read();
          out_open = read_available(out, out_handler, kReadsPerWakeup);
          if (out_open && out.bytes_read() - before < coalesce_below) coalesce_wait();
        }
        if (err_index != 99 && fds[err_index].revents != 0) {
          err_open = read_available(err, err_handler, kReadsPerWakeup);
        }
      }
      now = Clock::now();
      maybe_tick(now);
      if (escalate_at && now >= *escalate_at) {
        if (stop_stage == 1) {
          spdlog::warn("bpftrace did not exit {} ms after SIGINT; sending SIGTERM", options_.stop_grace.count());
          child.signal(SIGTERM, /*group=*/false);
          stop_stage = 2;
          escalate_at = now + options_.term_grace;
        } else if (stop_stage == 2) {
          spdlog::warn("bpftrace did not exit after SIGTERM; killing it");
          child.signal(SIGKILL, /*group=*/true);
          stop_stage = 3;
          escalate_at.reset();
        }
      }
    }
    // Everything bpftrace wrote before exiting is in the pipes: deliver it.
    if (out_open) read_available(out, out_handler, kMaxDrainReads);
    if (err_open) read_available(err, err_handler, kMaxDrainReads);
    child.close_output();
    outcome.attached = out_handler.attached();
    outcome.stopped = stop_stage > 0;
    outcome.elapsed = Clock::now() - started;
    return outcome;
  }

  SourceOptions options_;
  SourceStats& stats_;
  std::string bpftrace_;
  bool checked_ = false;
  bool tracefs_ = true;
  std::optional<unsigned long long> target_start_time_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<int> current_pid_{0};
  int wake_read_ = -1;
  int wake_write_ = -1;
  OutputRing ring_;
  RateLimitedLog log_{20, std::chrono::seconds(10)};
  const std::function<void()>* tick_ = nullptr;
  milliseconds tick_interval_{100};
  Clock::time_point next_tick_{};
};

}  // namespace

std::unique_ptr<BpftraceSource> create_bpftrace_source(const SourceOptions& options, SourceStats& stats) {
  return std::make_unique<BpftraceSourceImpl>(options, stats);
}

}  // namespace bto
