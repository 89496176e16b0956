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
#include <optional>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "source/bpftrace_command.h"
#include "source/bpftrace_diagnosis.h"
#include "source/child_process.h"
#include "source/loss_tracker.h"
#include "source/output_filter.h"
#include "source/startup_checks.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A bpftrace that exits non-zero this soon after starting failed to start,
// even if it printed attached_probes (it does so before attaching kprobes
// and before creating maps).
constexpr milliseconds kStartupWindow{2000};
constexpr size_t kStderrLineBytes = 4096;
// Reads per wake-up before looking at stderr, stop requests and ticks again.
constexpr int kReadsPerWakeup = 16;
// Bound on the final drain when something else (bpftrace -c's command)
// keeps the pipe open and writing after bpftrace has exited.
constexpr int kMaxDrainReads = 4096;

struct RunOutcome {
  int wait_status = 0;
  bool attached = false;
  bool stopped = false;  // we sent the stop signals
  Clock::duration elapsed{};
};

// Stopping bpftrace: SIGINT (it prints its maps and exits; we keep reading
// meanwhile), then SIGTERM after stop_grace, then SIGKILL after term_grace.
class StopEscalation {
 public:
  bool begun() const noexcept { return stage_ > 0; }
  std::optional<Clock::time_point> next_step() const noexcept { return escalate_at_; }

  void begin(ChildProcess& child, milliseconds stop_grace) {
    spdlog::info("stopping bpftrace (pid {})", child.pid());
    child.signal(SIGINT, /*group=*/false);
    stage_ = 1;
    escalate_at_ = Clock::now() + stop_grace;
  }

  void escalate_if_due(ChildProcess& child, Clock::time_point now, const SourceOptions& options) {
    if (!escalate_at_ || now < *escalate_at_) return;
    if (stage_ == 1) {
      spdlog::warn("bpftrace did not exit {} ms after SIGINT; sending SIGTERM", options.stop_grace.count());
      child.signal(SIGTERM, /*group=*/false);
      stage_ = 2;
      escalate_at_ = now + options.term_grace;
    } else if (stage_ == 2) {
      spdlog::warn("bpftrace did not exit after SIGTERM; killing it");
      child.signal(SIGKILL, /*group=*/true);
      stage_ = 3;
      escalate_at_.reset();
    }
  }

 private:
  int stage_ = 0;  // 1: SIGINT sent, 2: SIGTERM sent, 3: SIGKILL sent
  std::optional<Clock::time_point> escalate_at_;
};

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
    if (command_output_fd_ >= 0) ::close(command_output_fd_);
  }

  void check() override {
    facts_ = run_startup_checks(options_);
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
    if (!open_command_output(result)) return result;
    const auto argv = build_bpftrace_argv(options_, facts_.bpftrace_path);
    milliseconds backoff = options_.initial_restart_backoff;
    for (int attempt = 0;; ++attempt) {
      if (stop_requested_.load()) {
        result.end = SourceEnd::kStopped;
        return result;
      }
      const std::optional<RunOutcome> outcome = run_bpftrace(argv, attempt, lines, result);
      if (!outcome || run_is_over(*outcome, attempt, result)) return result;
      if (!wait_to_restart(*outcome, attempt, backoff, result)) return result;
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
  bool target_alive() const {
    const auto start_time = process_start_time(options_.target_pid);
    return start_time && start_time == facts_.target_start_time;
  }

  // The -c command's destination file (command_output), opened once. False
  // (with `result` saying why) when it cannot be.
  bool open_command_output(SourceResult& result) {
    if (options_.command.empty() || options_.command_output.empty() || command_output_fd_ >= 0) return true;
    command_output_fd_ =
        ::open(options_.command_output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (command_output_fd_ >= 0) return true;
    result.end = SourceEnd::kFailed;
    result.message = fmt::format("cannot open the command's output file {}: {}",
                                 quote_bytes(options_.command_output, 200), std::strerror(errno));
    return false;
  }

  // Where the -c command's stdout (and, passed through, its stderr) goes; -1
  // without a command (bpftrace's stdout is then the event pipe).
  int command_stdout() const noexcept {
    if (options_.command.empty()) return -1;
    return command_output_fd_ >= 0 ? command_output_fd_ : STDOUT_FILENO;
  }
  int command_stderr() const noexcept {
    if (options_.command.empty()) return -1;
    return command_output_fd_ >= 0 ? command_output_fd_ : STDERR_FILENO;
  }

  std::string failure_message(const std::string& what, const std::string& suffix) const {
    std::string message = fmt::format("{}{}", what, suffix);
    append_bpftrace_said(message, ring_.lines());
    return message;
  }

  // Spawns bpftrace once and supervises it until it exits. nullopt when it
  // could not be spawned (`result` says why).
  std::optional<RunOutcome> run_bpftrace(const std::vector<std::string>& argv, int attempt, LineHandler& lines,
                                         SourceResult& result) {
    spdlog::info("starting {}", describe_bpftrace_argv(argv));
    std::unique_ptr<ChildProcess> child;
    try {
      child = spawn_child(facts_.bpftrace_path, argv, SpawnOptions{command_stdout()});
    } catch (const StartupError& e) {
      result.end = SourceEnd::kFailed;
      result.message = e.what();
      return std::nullopt;
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
    return outcome;
  }

  // Decides after bpftrace exited: true when run() ends (with `result`),
  // false when bpftrace may be restarted.
  bool run_is_over(const RunOutcome& outcome, int attempt, SourceResult& result) const {
    const int status = outcome.wait_status;
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (outcome.stopped) {
      result.end = SourceEnd::kStopped;
      return true;
    }
    if (target_gone()) {
      result.end = SourceEnd::kTargetExited;
      return true;
    }
    const bool early = WIFEXITED(status) && !clean && (!outcome.attached || outcome.elapsed < kStartupWindow);
    if (attempt == 0 && early) {
      result.end = SourceEnd::kFailed;
      result.message =
          diagnose_failure(ring_.lines(), status, facts_.tracefs_mounted, options_.bpftrace_version).message;
      return true;
    }
    if (clean) {
      result.end = options_.command.empty() ? SourceEnd::kBpftraceExited : SourceEnd::kTargetExited;
      return true;
    }
    const std::string what = fmt::format("bpftrace {}", describe_wait_status(status));
    if (!options_.command.empty() || options_.restart == SourceOptions::RestartPolicy::kNever) {
      // With -c a restart would run the command a second time.
      result.end = SourceEnd::kFailed;
      result.message = failure_message(what, "");
      return true;
    }
    if (options_.max_restarts > 0 && attempt >= options_.max_restarts) {
      result.end = SourceEnd::kFailed;
      result.message = failure_message(what, fmt::format(" (gave up after {} restarts)", attempt));
      return true;
    }
    return false;
  }

  // Waits out the restart backoff (and doubles it for next time). False when
  // run() ends instead: a stop request or the target's exit meanwhile.
  bool wait_to_restart(const RunOutcome& outcome, int attempt, milliseconds& backoff, SourceResult& result) {
    // A run that stayed up longer than the longest backoff was healthy:
    // start the backoff sequence over.
    if (outcome.attached && outcome.elapsed >= options_.max_restart_backoff) {
      backoff = options_.initial_restart_backoff;
    }
    spdlog::warn("bpftrace {} unexpectedly; restarting it in {} ms (restart {})",
                 describe_wait_status(outcome.wait_status), backoff.count(), attempt + 1);
    if (!sleep_interruptibly(backoff)) {
      result.end = SourceEnd::kStopped;
      return false;
    }
    if (target_gone()) {
      result.end = SourceEnd::kTargetExited;
      return false;
    }
    backoff = std::min(backoff * 2, options_.max_restart_backoff);
    return true;
  }

  // A target PID was given and that process has exited (logged).
  bool target_gone() const {
    if (options_.target_pid == 0 || target_alive()) return false;
    spdlog::info("target process {} has exited", options_.target_pid);
    return true;
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

  std::chrono::microseconds coalesce_delay() const noexcept {
    const bool all_timestamped =
        options_.arrival_times_used != nullptr && !options_.arrival_times_used->load(std::memory_order_relaxed);
    return all_timestamped ? options_.read_coalesce_timestamped : options_.read_coalesce;
  }

  // Sleeps the coalescing delay unless a stop is requested meanwhile (wake pipe).
  void coalesce_wait() {
    const auto us = coalesce_delay().count();
    if (us <= 0 || stop_requested_.load()) return;
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
    StderrSink err_handler(stats_, ring_, log_, command_stderr(), &out_handler);
    LineReader out(child.stdout_fd(), options_.max_line_bytes, options_.read_chunk_bytes);
    const size_t coalesce_below = coalesce_threshold(enlarge_pipe(child.stdout_fd()));
    LineReader err(child.stderr_fd(), kStderrLineBytes, kStderrLineBytes);
    bool out_open = true;
    bool err_open = true;
    StopEscalation stop;
    // A stop waits (up to stop_grace) until bpftrace has read its ring buffer.
    LossTracker losses(stats_, traits_of(options_.bpftrace_version), options_.stop_grace);
    const auto started = Clock::now();
    RunOutcome outcome;

    for (;;) {
      const bool stopping = stop_requested_.load() && !stop.begun();
      if (stopping && losses.ready_to_stop(Clock::now())) stop.begin(child, options_.stop_grace);
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
      const std::optional<Clock::time_point> drain_check = stopping ? losses.next_check(now) : std::nullopt;
      const int ready = ::poll(fds, count, poll_timeout(now, {next_tick_, stop.next_step(), exit_check, drain_check}));
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
      if (!losses.attached() && out_handler.attached()) losses.attach(child.pid());
      now = Clock::now();
      if (now >= next_tick_) losses.update();
      maybe_tick(now);
      stop.escalate_if_due(child, now, options_);
    }
    // Everything bpftrace wrote before exiting is in the pipes: deliver it.
    if (out_open) read_available(out, out_handler, kMaxDrainReads);
    if (err_open) read_available(err, err_handler, kMaxDrainReads);
    child.close_output();
    losses.finish();
    outcome.attached = out_handler.attached();
    outcome.stopped = stop.begun();
    outcome.elapsed = Clock::now() - started;
    return outcome;
  }

  SourceOptions options_;
  SourceStats& stats_;
  StartupFacts facts_;
  bool checked_ = false;
  std::atomic<bool> stop_requested_{false};
  std::atomic<int> current_pid_{0};
  int wake_read_ = -1;
  int wake_write_ = -1;
  int command_output_fd_ = -1;  // command_output's file, once opened
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
