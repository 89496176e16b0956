// Process supervision against a real stand-in program (helpers/fake_bpftrace.py)
// that prints, fails, crashes and ignores signals on request.

#include "source/bpftrace_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "source/child_process.h"
#include "source/helpers/test_support.h"

namespace bto {
namespace {

using namespace std::chrono_literals;
using testing::RecordingHandler;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

struct Fixture {
  TempDir dir;
  SourceOptions options;
  SourceStats stats;

  explicit Fixture(std::string_view steps) {
    options.bpftrace_path = testing::install_fake_bpftrace(dir);
    options.script_path = dir.write("steps.bt", steps);
    options.initial_restart_backoff = 20ms;
    options.max_restart_backoff = 80ms;
  }
  std::unique_ptr<BpftraceSource> source() { return create_bpftrace_source(options, stats); }
};

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// No child of ours, running or zombie, is left behind.
void expect_no_children() {
  int status = 0;
  errno = 0;
  const pid_t pid = ::waitpid(-1, &status, WNOHANG);
  EXPECT_EQ(pid, -1) << "child " << pid << " left behind";
  EXPECT_EQ(errno, ECHILD);
}

TEST(BpftraceSource, delivers_stdout_lines_in_order_and_ends_when_bpftrace_exits_cleanly) {
  Fixture f("attach\nout {\"a\": 1}\nout {\"b\": 2}\nexit 0\n");
  RecordingHandler lines;
  auto source = f.source();
  source->check();
  const SourceResult result = source->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kBpftraceExited);
  EXPECT_EQ(result.bpftrace_exit_code, 0);
  ASSERT_EQ(lines.lines.size(), 3u);
  EXPECT_EQ(lines.lines[0], R"({"type": "attached_probes", "data": {"probes": 1}})");
  EXPECT_EQ(lines.lines[1], R"({"a": 1})");
  EXPECT_EQ(lines.lines[2], R"({"b": 2})");
  EXPECT_EQ(f.stats.starts.load(), 1u);
  EXPECT_EQ(f.stats.restarts.load(), 0u);
  EXPECT_EQ(f.stats.stdout_lines.load(), 3u);
  EXPECT_EQ(source->bpftrace_pid(), 0);
  expect_no_children();
}

TEST(BpftraceSource, passes_options_then_script_then_extra_args_by_argv) {
  Fixture f("argv\n");
  f.options.target_pid = ::getpid();
  f.options.extra_args = {"--unsafe", "two words", "$1"};
  RecordingHandler lines;
  auto source = f.source();
  source->check();
  EXPECT_EQ(source->run(lines).end, SourceEnd::kBpftraceExited);
  ASSERT_EQ(lines.lines.size(), 1u);
  const std::string expected = R"({"argv": ["-f", "json", "-B", "line", "-p", ")" + std::to_string(::getpid()) +
                               R"(", ")" + f.options.script_path + R"(", "--unsafe", "two words", "$1"]})";
  EXPECT_EQ(lines.lines[0], expected);
}

TEST(BpftraceSource, runs_bpftrace_in_its_own_process_group_with_null_stdin_and_no_blocked_signals) {
  Fixture f("identity\n");
  // Our blocked signals must not leak into bpftrace, or it could not be stopped.
  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &previous), 0);
  RecordingHandler lines;
  auto source = f.source();
  source->check();
  const SourceResult result = source->run(lines);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ASSERT_EQ(result.end, SourceEnd::kBpftraceExited);
  ASSERT_EQ(lines.lines.size(), 1u);
  const std::string& identity = lines.lines[0];
  const auto field = [&](std::string_view name) {
    const size_t at = identity.find(std::string("\"") + std::string(name) + "\": ");
    EXPECT_NE(at, std::string::npos) << identity;
    return identity.substr(at + name.size() + 4, identity.find_first_of(",}", at) - at - name.size() - 4);
  };
  EXPECT_EQ(field("pid"), field("pgid"));
  EXPECT_NE(field("pgid"), std::to_string(::getpgrp()));
  EXPECT_EQ(field("stdin"), "\"/dev/null\"");
  EXPECT_EQ(field("sigmask"), "\"0000000000000000\"");
}

TEST(BpftraceSource, logs_non_json_stdout_lines_instead_of_passing_them_on) {
  Fixture f("out No probes to attach\nout {\"ok\": 1}\nout\nexit 0\n");
  RecordingHandler lines;
  auto source = f.source();
  EXPECT_EQ(source->run(lines).end, SourceEnd::kBpftraceExited);
  ASSERT_EQ(lines.lines.size(), 1u);
  EXPECT_EQ(lines.lines[0], R"({"ok": 1})");
  EXPECT_EQ(f.stats.message_lines.load(), 1u);
}

TEST(BpftraceSource, oversized_lines_are_reported_with_their_length) {
  Fixture f("out {\"" + std::string(300, 'x') + "\": 1}\nout {\"small\": 1}\n");
  f.options.max_line_bytes = 100;
  RecordingHandler lines;
  auto source = f.source();
  EXPECT_EQ(source->run(lines).end, SourceEnd::kBpftraceExited);
  ASSERT_EQ(lines.oversized.size(), 1u);
  EXPECT_EQ(lines.oversized[0].length, 307u);
  EXPECT_EQ(lines.oversized[0].prefix.substr(0, 5), "{\"xxx");
  ASSERT_EQ(lines.lines.size(), 1u);
  EXPECT_EQ(f.stats.oversized_lines.load(), 1u);
}

TEST(BpftraceSource, early_failure_quotes_bpftrace_stderr_without_the_memlock_noise) {
  Fixture f(
      "err ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, "
      "you can try \"ulimit -l 8192\" to fix the problem\n"
      "err steps.bt:1:22-23: ERROR: syntax error, unexpected }, expecting ) or \",\"\n"
      "err BEGIN { printf(\"x\\n\" }\n"
      "exit 1\n");
  RecordingHandler lines;
  auto source = f.source();
  const SourceResult result = source->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_EQ(result.bpftrace_exit_code, 1);
  EXPECT_TRUE(contains(result.message, "could not compile the script")) << result.message;
  EXPECT_TRUE(contains(result.message, "ERROR: syntax error, unexpected }, expecting ) or \",\"")) << result.message;
  EXPECT_TRUE(contains(result.message, "exit code 1")) << result.message;
  EXPECT_FALSE(contains(result.message, "RLIMIT_MEMLOCK")) << result.message;
  EXPECT_EQ(f.stats.stderr_lines.load(), 3u);
  EXPECT_EQ(f.stats.restarts.load(), 0u);
}

TEST(BpftraceSource, no_probes_to_attach_on_stdout_is_diagnosed_as_probe_not_found) {
  Fixture f("out No probes to attach\nexit 1\n");
  RecordingHandler lines;
  const SourceResult result = f.source()->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_TRUE(contains(result.message, "probe of the script was not found")) << result.message;
  EXPECT_TRUE(contains(result.message, "\n  No probes to attach")) << result.message;
}

TEST(BpftraceSource, failure_right_after_attached_probes_is_still_a_startup_failure) {
  // bpftrace prints attached_probes before it creates maps and attaches kprobes.
  Fixture f("attach\nerr ERROR: Error attaching probe: 'kprobe:nope'\nexit 255\n");
  RecordingHandler lines;
  const SourceResult result = f.source()->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_EQ(result.bpftrace_exit_code, 255);
  EXPECT_TRUE(contains(result.message, "Error attaching probe: 'kprobe:nope'")) << result.message;
  EXPECT_EQ(f.stats.starts.load(), 1u);
}

TEST(BpftraceSource, restarts_a_crashed_bpftrace_with_exponential_backoff) {
  TempDir state;
  const std::string counter = state.file("runs");
  Fixture f("count " + counter + "\nattach\nout {\"run\": 1}\non_run 1 kill SIGKILL\non_run 2 kill SIGSEGV\n" +
            "on_run 3 kill SIGKILL\nout {\"last\": 1}\nexit 0\n");
  f.options.initial_restart_backoff = 100ms;
  f.options.max_restart_backoff = 150ms;
  RecordingHandler lines;
  int ticks = 0;
  const auto started = Clock::now();
  const SourceResult result = f.source()->run(lines, [&] { ++ticks; }, 10ms);
  const auto elapsed = Clock::now() - started;
  EXPECT_EQ(result.end, SourceEnd::kBpftraceExited);
  EXPECT_EQ(f.stats.starts.load(), 4u);
  EXPECT_EQ(f.stats.restarts.load(), 3u);
  // Backoffs 100 + 150 (capped) + 150 ms.
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 5s);
  EXPECT_GE(ticks, 30);  // the tick runs while waiting to restart too
  EXPECT_EQ(lines.lines.back(), R"({"last": 1})");
  expect_no_children();
}

TEST(BpftraceSource, gives_up_after_max_restarts) {
  Fixture f("attach\nerr boom\nkill SIGKILL\n");
  f.options.max_restarts = 2;
  RecordingHandler lines;
  const SourceResult result = f.source()->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_EQ(result.bpftrace_exit_code, 128 + SIGKILL);
  EXPECT_EQ(f.stats.starts.load(), 3u);
  EXPECT_EQ(f.stats.restarts.load(), 2u);
  EXPECT_TRUE(contains(result.message, "killed by signal 9")) << result.message;
  EXPECT_TRUE(contains(result.message, "gave up after 2 restarts")) << result.message;
  EXPECT_TRUE(contains(result.message, "\n  boom")) << result.message;
}

TEST(BpftraceSource, does_not_restart_with_policy_never) {
  Fixture f("attach\nkill SIGKILL\n");
  f.options.restart = SourceOptions::RestartPolicy::kNever;
  RecordingHandler lines;
  const SourceResult result = f.source()->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_EQ(f.stats.starts.load(), 1u);
  EXPECT_EQ(f.stats.restarts.load(), 0u);
}

TEST(BpftraceSource, does_not_restart_once_the_target_has_exited) {
  auto target = spawn_child("/bin/sleep", {"sleep", "0.3"});
  Fixture f("attach\nsleep 0.6\nkill SIGKILL\n");
  f.options.target_pid = target->pid();
  RecordingHandler lines;
  auto source = f.source();
  source->check();
  // The tick reaps the target, as the app reaps a -c child it does not own.
  const SourceResult result = source->run(lines, [&] { target->try_wait(); }, 20ms);
  EXPECT_EQ(result.end, SourceEnd::kTargetExited);
  EXPECT_EQ(f.stats.restarts.load(), 0u);
  target.reset();
  expect_no_children();
}

TEST(BpftraceSource, stop_sends_sigint_and_delivers_what_bpftrace_prints_while_exiting) {
  Fixture f("attach\npause\n");
  RecordingHandler lines;
  auto source = f.source();
  const auto started = Clock::now();
  const SourceResult result = source->run(lines, [&] {
    if (!lines.lines.empty()) source->request_stop();
  }, 10ms);
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  EXPECT_EQ(result.bpftrace_exit_code, 0);
  ASSERT_EQ(lines.lines.size(), 2u);
  EXPECT_EQ(lines.lines[1], R"({"type": "map", "data": {"@stopped_by": 2}})");
  EXPECT_LT(Clock::now() - started, 2s);
  expect_no_children();
}

TEST(BpftraceSource, stop_escalates_to_sigterm_when_sigint_is_ignored) {
  Fixture f("ignore SIGINT\nattach\npause\n");
  f.options.stop_grace = 200ms;
  RecordingHandler lines;
  auto source = f.source();
  Clock::time_point stop_at{};
  const SourceResult result = source->run(lines, [&] {
    if (!lines.lines.empty() && stop_at == Clock::time_point{}) {
      stop_at = Clock::now();
      source->request_stop();
    }
  }, 10ms);
  const auto took = Clock::now() - stop_at;
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  ASSERT_EQ(lines.lines.size(), 2u);
  EXPECT_EQ(lines.lines[1], R"({"type": "map", "data": {"@stopped_by": 15}})");
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1500ms);
}

TEST(BpftraceSource, stop_kills_a_bpftrace_that_ignores_sigint_and_sigterm) {
  Fixture f("ignore SIGINT\nignore SIGTERM\nattach\npause\n");
  f.options.stop_grace = 150ms;
  f.options.term_grace = 150ms;
  RecordingHandler lines;
  auto source = f.source();
  Clock::time_point stop_at{};
  const SourceResult result = source->run(lines, [&] {
    if (!lines.lines.empty() && stop_at == Clock::time_point{}) {
      stop_at = Clock::now();
      source->request_stop();
    }
  }, 10ms);
  const auto took = Clock::now() - stop_at;
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  EXPECT_EQ(result.bpftrace_exit_code, 128 + SIGKILL);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms);
  expect_no_children();
}

TEST(BpftraceSource, request_stop_from_another_thread_wakes_run) {
  Fixture f("attach\npause\n");
  RecordingHandler lines;
  auto source = f.source();
  std::thread stopper([&] {
    while (source->bpftrace_pid() == 0) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(100ms);
    source->request_stop();
  });
  const auto started = Clock::now();
  // No tick: only the wake-up pipe can end the wait early.
  const SourceResult result = source->run(lines, {}, std::chrono::hours(1));
  stopper.join();
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  EXPECT_LT(Clock::now() - started, 2s);
}

TEST(BpftraceSource, request_stop_before_run_starts_nothing) {
  Fixture f("attach\npause\n");
  RecordingHandler lines;
  auto source = f.source();
  source->request_stop();
  EXPECT_EQ(source->run(lines).end, SourceEnd::kStopped);
  EXPECT_EQ(f.stats.starts.load(), 0u);
}

TEST(BpftraceSource, request_stop_interrupts_the_restart_backoff) {
  Fixture f("attach\nkill SIGKILL\n");
  f.options.initial_restart_backoff = 10s;
  f.options.max_restart_backoff = 10s;
  RecordingHandler lines;
  auto source = f.source();
  const auto started = Clock::now();
  const SourceResult result = source->run(lines, [&] {
    if (f.stats.last_exit_code.load() >= 0) source->request_stop();
  }, 10ms);
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  EXPECT_LT(Clock::now() - started, 3s);
  EXPECT_EQ(f.stats.starts.load(), 1u);
}

TEST(BpftraceSource, bpftrace_dies_when_we_are_killed) {
  Fixture f("attach\npause\n");
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t supervisor = ::fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    // Stands for our process: reports bpftrace's PID, then is SIGKILLed.
    ::close(report[0]);
    auto source = create_bpftrace_source(f.options, f.stats);
    RecordingHandler lines;
    bool reported = false;
    source->run(lines, [&] {
      if (const int pid = source->bpftrace_pid(); pid != 0 && !lines.lines.empty() && !reported) {
        reported = true;
        [[maybe_unused]] const ssize_t n = ::write(report[1], &pid, sizeof pid);
      }
    }, 10ms);
    ::_exit(0);
  }
  ::close(report[1]);
  int bpftrace_pid = 0;
  ASSERT_EQ(::read(report[0], &bpftrace_pid, sizeof bpftrace_pid), static_cast<ssize_t>(sizeof bpftrace_pid));
  ::close(report[0]);
  ASSERT_EQ(::kill(bpftrace_pid, 0), 0);
  ::kill(supervisor, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(supervisor, &status, 0), supervisor);
  // Orphaned, it is reparented; it must be dead (gone or a zombie) soon.
  bool dead = false;
  for (int i = 0; i < 200 && !dead; ++i) {
    std::ifstream stat("/proc/" + std::to_string(bpftrace_pid) + "/stat");
    std::string text;
    std::getline(stat, text);
    dead = text.empty() || text.find(") Z ") != std::string::npos;
    if (!dead) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(dead) << "bpftrace " << bpftrace_pid << " outlived its supervisor";
}

TEST(BpftraceSource, destructor_of_a_running_child_stops_and_reaps_it) {
  {
    auto child = spawn_child("/bin/sleep", {"sleep", "30"});
    ASSERT_TRUE(child->signal(0, false));
  }
  expect_no_children();
}

TEST(BpftraceSource, spawn_reports_an_exec_failure) {
  TempDir dir;
  const std::string not_executable = dir.write("not-a-program", "#!/nonexistent/interpreter\n", 0755);
  try {
    spawn_child(not_executable, {"x"});
    FAIL() << "spawn_child succeeded";
  } catch (const StartupError& e) {
    EXPECT_TRUE(contains(e.what(), "cannot execute")) << e.what();
    EXPECT_TRUE(contains(e.what(), "No such file or directory")) << e.what();
  }
  expect_no_children();
}

TEST(BpftraceSource, many_lines_arrive_complete_and_in_order) {
  Fixture f("attach\nblast 50000\nexit 0\n");
  f.options.read_chunk_bytes = 4096;
  RecordingHandler lines;
  EXPECT_EQ(f.source()->run(lines).end, SourceEnd::kBpftraceExited);
  ASSERT_EQ(lines.lines.size(), 50001u);
  for (size_t i = 1; i < lines.lines.size(); i += 997) {
    EXPECT_EQ(lines.lines[i], R"({"type": "printf", "data": ")" + std::to_string(i - 1) + "\"}");
  }
  EXPECT_EQ(lines.lines.back(), R"({"type": "printf", "data": "49999"})");
}

// Read coalescing waits after a small read; the wait must not hold up a stop
// or the lines already read.
TEST(BpftraceSource, a_stop_ends_the_read_coalescing_wait) {
  Fixture f("attach\nout {\"type\": \"printf\", \"data\": \"x\"}\npause\n");
  f.options.read_coalesce = std::chrono::seconds(3);
  RecordingHandler lines;
  auto source = f.source();
  std::thread stopper([&] {
    while (source->bpftrace_pid() == 0) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(500ms);  // the line is read: inside the 3 s wait now
    source->request_stop();
  });
  const auto started = Clock::now();
  const SourceResult result = source->run(lines, {}, std::chrono::hours(1));
  stopper.join();
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  EXPECT_LT(Clock::now() - started, 2500ms);
  EXPECT_NE(std::find(lines.lines.begin(), lines.lines.end(), R"({"type": "printf", "data": "x"})"), lines.lines.end());
}

// A long wait after every small read must not cap the throughput of a fast
// writer: once reads are large, nothing waits.
TEST(BpftraceSource, read_coalescing_does_not_throttle_a_fast_writer) {
  Fixture f("attach\nblast 200000\nexit 0\n");
  f.options.read_coalesce = std::chrono::milliseconds(200);
  RecordingHandler lines;
  const auto started = Clock::now();
  EXPECT_EQ(f.source()->run(lines).end, SourceEnd::kBpftraceExited);
  EXPECT_EQ(lines.lines.size(), 200001u);
  // ~6.6 MB: at one 200 ms wait per pipe-full (64 KiB if it could not be
  // enlarged) this would take 20 s; without waits it takes well under 1 s.
  EXPECT_LT(Clock::now() - started, 8s);
}

// While every event has carried its own timestamp, nothing is stamped late,
// so the reader may wait longer between small reads (fewer wake-ups); once
// the correlator times an event on arrival, it goes back to read_coalesce.
struct TimedLines : LineHandler {
  std::vector<Clock::time_point> times;
  void on_line(std::string_view line) override {
    if (line.starts_with("{\"step\"")) times.push_back(Clock::now());  // not bpftrace's own lines
  }
  void on_oversized_line(std::string_view, size_t) override {}
};

std::vector<Clock::time_point> line_times(bool arrival_times_used) {
  // Three lines 100 ms apart, once the wait after reading the attach line is
  // over; then bpftrace waits until it is stopped.
  Fixture f("attach\nsleep 1.7\nout {\"step\": 1}\nsleep 0.1\nout {\"step\": 2}\nsleep 0.1\nout {\"step\": 3}\npause\n");
  std::atomic<bool> used{arrival_times_used};
  f.options.read_coalesce = 1ms;
  f.options.read_coalesce_timestamped = 1500ms;
  f.options.arrival_times_used = &used;
  TimedLines lines;
  auto source = f.source();
  const SourceResult result = source->run(lines, [&] {
    if (lines.times.size() >= 3) source->request_stop();
  }, 10ms);
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  return lines.times;
}

TEST(BpftraceSource, waits_longer_between_small_reads_while_every_event_is_timestamped) {
  const auto times = line_times(false);
  ASSERT_EQ(times.size(), 3u);
  // The first line is read at once; the next two wait out the long delay together.
  EXPECT_GE(times[1] - times[0], 1400ms);
  EXPECT_LT(times[2] - times[1], 200ms);
}

TEST(BpftraceSource, reads_promptly_once_an_event_was_timed_on_arrival) {
  const auto times = line_times(true);
  ASSERT_EQ(times.size(), 3u);
  EXPECT_LT(times[1] - times[0], 1000ms);  // written 100 ms after the first; the long wait would be 1.5 s
}

TEST(BpftraceSource, does_not_hang_when_sigchld_is_ignored) {
  // The kernel then reaps children itself and waitpid() fails with ECHILD.
  Fixture f("attach\nexit 0\n");
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGCHLD, &ignore, &previous), 0);
  RecordingHandler lines;
  const auto started = Clock::now();
  const SourceResult result = f.source()->run(lines);
  ::sigaction(SIGCHLD, &previous, nullptr);
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_EQ(lines.lines.size(), 1u);
  EXPECT_NE(result.end, SourceEnd::kStopped);
}

// ---- pre-flight checks ----

std::string check_error(const SourceOptions& options) {
  SourceStats stats;
  try {
    create_bpftrace_source(options, stats)->check();
  } catch (const StartupError& e) {
    return e.what();
  }
  return "no error";
}

TEST(BpftraceSourceCheck, missing_bpftrace_names_the_fix) {
  Fixture f("exit 0\n");
  f.options.bpftrace_path = "bpftrace-that-is-not-installed";
  EXPECT_EQ(check_error(f.options),
            "bpftrace not found: install it with `apt-get install bpftrace` or pass --bpftrace PATH");
  f.options.bpftrace_path = f.dir.write("not-executable", "", 0644);
  EXPECT_TRUE(contains(check_error(f.options), "fix --bpftrace PATH"));
}

TEST(BpftraceSourceCheck, unreadable_script_is_reported) {
  Fixture f("exit 0\n");
  f.options.script_path = f.dir.file("missing.bt");
  const std::string error = check_error(f.options);
  EXPECT_TRUE(contains(error, "cannot read bpftrace script " + f.options.script_path)) << error;
  EXPECT_TRUE(contains(error, "No such file or directory")) << error;
}

TEST(BpftraceSourceCheck, nonexistent_target_pid_is_reported) {
  Fixture f("exit 0\n");
  // A PID just reaped is free (PIDs are not reused this fast).
  auto gone = spawn_child("/bin/true", {"true"});
  const int pid = gone->pid();
  gone->wait_for(5s);
  f.options.target_pid = pid;
  const std::string error = check_error(f.options);
  EXPECT_TRUE(contains(error, "no such process: PID " + std::to_string(pid))) << error;
}

TEST(BpftraceSourceCheck, inconsistent_options_are_rejected) {
  Fixture f("exit 0\n");
  SourceOptions options = f.options;
  options.script_path.clear();
  EXPECT_TRUE(contains(check_error(options), "no bpftrace script"));
  options.program_text = "BEGIN {}";
  options.script_path = "x.bt";
  EXPECT_TRUE(contains(check_error(options), "not both"));
  options = f.options;
  options.mode = "kprobe";
  EXPECT_TRUE(contains(check_error(options), "unknown mode 'kprobe'"));
  options = f.options;
  options.target_pid = ::getpid();
  options.command = "/bin/true";
  EXPECT_TRUE(contains(check_error(options), "cannot be used together"));
  EXPECT_EQ(check_error(f.options), "no error");
}

TEST(BpftraceSourceCheck, run_without_check_reports_check_errors_as_failure) {
  Fixture f("exit 0\n");
  f.options.script_path = f.dir.file("missing.bt");
  RecordingHandler lines;
  const SourceResult result = f.source()->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_TRUE(contains(result.message, "cannot read bpftrace script")) << result.message;
  EXPECT_EQ(f.stats.starts.load(), 0u);
}

}  // namespace
}  // namespace bto
