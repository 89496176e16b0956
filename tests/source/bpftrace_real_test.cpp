// The source against the real bpftrace (0.17 in CI): needs root; skipped
// otherwise. Checks that what we rely on about bpftrace really holds.

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "common/errors.h"
#include "source/bpftrace_command.h"
#include "source/bpftrace_process.h"
#include "source/child_process.h"
#include "source/helpers/test_support.h"
#include "source/startup_checks.h"

namespace bto {
namespace {

using namespace std::chrono_literals;
using testing::RecordingHandler;
using Clock = std::chrono::steady_clock;

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

class RealBpftrace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    const char* path_env = std::getenv("PATH");
    if (!find_executable("bpftrace", path_env != nullptr ? path_env : "/usr/bin:/usr/sbin")) {
      GTEST_SKIP() << "bpftrace is not installed";
    }
    if (!tracefs_available()) {
      std::filesystem::create_directories("/sys/kernel/tracing");
      ::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr);
    }
  }

  SourceResult run_program(const std::string& program, RecordingHandler& lines) {
    options.program_text = program;
    auto source = create_bpftrace_source(options, stats);
    source->check();
    return source->run(lines);
  }

  SourceOptions options;
  SourceStats stats;
};

TEST_F(RealBpftrace, begin_and_exit_produce_json_lines) {
  RecordingHandler lines;
  const SourceResult result = run_program(R"(BEGIN { printf("hello\n"); exit(); })", lines);
  EXPECT_EQ(result.end, SourceEnd::kBpftraceExited);
  ASSERT_EQ(lines.lines.size(), 2u);
  EXPECT_EQ(lines.lines[0], R"({"type": "attached_probes", "data": {"probes": 1}})");
  EXPECT_EQ(lines.lines[1], R"({"type": "printf", "data": "hello\n"})");
  EXPECT_EQ(stats.message_lines.load(), 0u);
}

TEST_F(RealBpftrace, syntax_error_quotes_bpftrace) {
  RecordingHandler lines;
  const SourceResult result = run_program(R"(BEGIN { printf("x\n" })", lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_TRUE(contains(result.message, "bpftrace could not compile the script (bpftrace exit code 1)"))
      << result.message;
  EXPECT_TRUE(contains(result.message, "stdin:1:22-23: ERROR: syntax error, unexpected }")) << result.message;
}

TEST_F(RealBpftrace, uprobe_on_a_missing_symbol_is_probe_not_found) {
  RecordingHandler lines;
  const SourceResult result = run_program("uprobe:/bin/true:no_such_symbol_xyz { printf(\"x\\n\"); }", lines);
  EXPECT_EQ(result.end, SourceEnd::kFailed);
  EXPECT_TRUE(contains(result.message, "a probe of the script was not found in the target")) << result.message;
  EXPECT_TRUE(contains(result.message, "No probes to attach")) << result.message;
}

TEST_F(RealBpftrace, missing_target_pid_is_caught_before_starting) {
  auto gone = spawn_child("/bin/true", {"true"});
  const int pid = gone->pid();
  gone->wait_for(5s);
  options.target_pid = pid;
  options.program_text = "BEGIN { exit(); }";
  auto source = create_bpftrace_source(options, stats);
  try {
    source->check();
    FAIL() << "check() accepted a PID that does not exist";
  } catch (const StartupError& e) {
    EXPECT_TRUE(contains(e.what(), "no such process: PID " + std::to_string(pid))) << e.what();
  }
}

TEST_F(RealBpftrace, ends_when_the_target_exits) {
  auto target = spawn_child("/bin/sleep", {"sleep", "1.5"});
  options.target_pid = target->pid();
  options.program_text = R"(interval:ms:100 { printf("tick\n"); })";
  auto source = create_bpftrace_source(options, stats);
  source->check();
  RecordingHandler lines;
  const SourceResult result = source->run(lines, [&] { target->try_wait(); }, 20ms);
  EXPECT_EQ(result.end, SourceEnd::kTargetExited);
  EXPECT_EQ(result.bpftrace_exit_code, 0);
  EXPECT_GE(lines.lines.size(), 2u);
  EXPECT_EQ(stats.restarts.load(), 0u);
}

TEST_F(RealBpftrace, stop_makes_bpftrace_print_its_maps_and_exit_0) {
  options.program_text = R"(interval:ms:50 { @ticks = count(); })";
  auto source = create_bpftrace_source(options, stats);
  source->check();
  RecordingHandler lines;
  Clock::time_point attached{};
  const SourceResult result = source->run(lines, [&] {
    if (lines.lines.empty()) return;
    if (attached == Clock::time_point{}) attached = Clock::now();
    if (Clock::now() - attached > 200ms) source->request_stop();
  }, 20ms);
  EXPECT_EQ(result.end, SourceEnd::kStopped);
  EXPECT_EQ(result.bpftrace_exit_code, 0);
  ASSERT_FALSE(lines.lines.empty());
  EXPECT_TRUE(contains(lines.lines.back(), R"({"type": "map", "data": {"@ticks": )")) << lines.lines.back();
}

TEST_F(RealBpftrace, ends_when_the_command_started_under_bpftrace_exits) {
  options.command = "/bin/sleep 0.5";
  options.program_text = R"(interval:ms:100 { printf("tick\n"); })";
  auto source = create_bpftrace_source(options, stats);
  source->check();
  RecordingHandler lines;
  const SourceResult result = source->run(lines);
  EXPECT_EQ(result.end, SourceEnd::kTargetExited);
  EXPECT_EQ(result.bpftrace_exit_code, 0);
  EXPECT_FALSE(lines.lines.empty());
}

TEST_F(RealBpftrace, missing_tracefs_is_caught_before_starting_a_tracepoint_script) {
  // In a private mount namespace of a child process, so the machine keeps its tracefs.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(3);
    while (::umount2("/sys/kernel/tracing", MNT_DETACH) == 0) {
    }
    ::umount2("/sys/kernel/debug/tracing", MNT_DETACH);
    if (tracefs_available()) _exit(4);
    options.program_text = "tracepoint:syscalls:sys_enter_connect { }";
    try {
      create_bpftrace_source(options, stats)->check();
    } catch (const StartupError& e) {
      _exit(contains(e.what(), "mount -t tracefs nodev /sys/kernel/tracing") ? 0 : 1);
    }
    _exit(2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3 || WEXITSTATUS(status) == 4) GTEST_SKIP() << "cannot unmount tracefs here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: wrong message, 2: no error";
}

}  // namespace
}  // namespace bto
