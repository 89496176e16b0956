// How bpftrace is found and its argv built.

#include "source/bpftrace_command.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "source/child_process.h"
#include "source/helpers/test_support.h"

namespace bto {
namespace {

using testing::TempDir;

TEST(FindExecutable, searches_path_entries_in_order) {
  TempDir a, b;
  b.write("tool", "", 0755);
  a.write("tool", "", 0644);  // not executable: skipped
  const std::string path_env = a.path() + ":" + b.path();
  EXPECT_EQ(find_executable("tool", path_env), b.path() + "/tool");
  EXPECT_EQ(find_executable("missing", path_env), std::nullopt);
  EXPECT_EQ(find_executable("tool", ""), std::nullopt);
  EXPECT_EQ(find_executable("", path_env), std::nullopt);
}

TEST(FindExecutable, a_name_with_a_slash_is_used_as_is) {
  TempDir dir;
  const std::string tool = dir.write("tool", "", 0755);
  EXPECT_EQ(find_executable(tool, ""), tool);
  EXPECT_EQ(find_executable(dir.path() + "/missing", "/usr/bin"), std::nullopt);
  EXPECT_EQ(find_executable(dir.path(), "/usr/bin"), std::nullopt);  // a directory
}

TEST(BuildBpftraceArgv, system_wide_script) {
  SourceOptions options;
  options.script_path = "/s/http.bt";
  EXPECT_EQ(build_bpftrace_argv(options, "/usr/bin/bpftrace"),
            (std::vector<std::string>{"/usr/bin/bpftrace", "-f", "json", "-B", "line", "/s/http.bt"}));
}

TEST(BuildBpftraceArgv, native_usdt_without_pid_activates_semaphores_by_file) {
  SourceOptions options;
  options.mode = "native-usdt";
  options.script_path = "s.bt";
  EXPECT_EQ(build_bpftrace_argv(options, "bpftrace"),
            (std::vector<std::string>{"bpftrace", "-f", "json", "-B", "line", "--usdt-file-activation", "s.bt"}));
  options.target_pid = 42;
  EXPECT_EQ(build_bpftrace_argv(options, "bpftrace"),
            (std::vector<std::string>{"bpftrace", "-f", "json", "-B", "line", "-p", "42", "s.bt"}));
}

TEST(BuildBpftraceArgv, command_is_one_argument_and_extra_args_follow_the_program) {
  SourceOptions options;
  options.program_text = "BEGIN { exit(); }";
  options.command = "./server --port 8080";
  options.extra_args = {"-q", "8080"};
  EXPECT_EQ(build_bpftrace_argv(options, "bpftrace"),
            (std::vector<std::string>{"bpftrace", "-f", "json", "-B", "line", "-o", "/dev/fd/3", "-c",
                                      "./server --port 8080", "-e", "BEGIN { exit(); }", "-q", "8080"}));
}

TEST(DescribeWaitStatus, exit_codes_and_signals) {
  EXPECT_EQ(describe_wait_status(3 << 8), "exit code 3");
  EXPECT_EQ(describe_wait_status(SIGKILL), "killed by signal 9 (Killed)");
  EXPECT_EQ(wait_status_code(3 << 8), 3);
  EXPECT_EQ(wait_status_code(SIGTERM), 128 + SIGTERM);
}

}  // namespace
}  // namespace bto
