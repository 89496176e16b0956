// argv building, pre-flight helpers and failure diagnosis. The diagnosis
// inputs are bpftrace 0.17's own output, verbatim, for each failure class.

#include "source/bpftrace_command.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "source/child_process.h"
#include "source/helpers/test_support.h"

namespace bto {
namespace {

using testing::TempDir;

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

constexpr int kExit1 = 1 << 8;    // wait status of exit(1)
constexpr int kExit255 = 255 << 8;
const std::string kMemlock =
    "ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can "
    "try \"ulimit -l 8192\" to fix the problem";

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
            (std::vector<std::string>{"bpftrace", "-f", "json", "-B", "line", "-c", "./server --port 8080", "-e",
                                      "BEGIN { exit(); }", "-q", "8080"}));
}

TEST(HasBpfCapabilities, reads_cap_eff) {
  EXPECT_TRUE(has_bpf_capabilities("Name:\tx\nCapPrm:\t0\nCapEff:\t000001fffeffffff\nCapBnd:\t0\n"));
  // root in a container without CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON (capsh --drop=...)
  EXPECT_FALSE(has_bpf_capabilities("CapEff:\t0000013ffedfffff\n"));
  EXPECT_TRUE(has_bpf_capabilities("CapEff:\t0000008000000000\n"));  // CAP_BPF only
  EXPECT_TRUE(has_bpf_capabilities("CapEff:\t0000000000200000\n"));  // CAP_SYS_ADMIN only
  EXPECT_FALSE(has_bpf_capabilities("CapEff:\t0000000000000000\n"));
  EXPECT_FALSE(has_bpf_capabilities("no such field"));
  EXPECT_FALSE(has_bpf_capabilities("CapEff:\tzz\n"));
}

TEST(ScriptUsesTracepoints, finds_tracepoint_probes_not_mentions) {
  EXPECT_TRUE(script_uses_tracepoints("tracepoint:syscalls:sys_enter_connect { }"));
  EXPECT_TRUE(script_uses_tracepoints("usdt:./a:p:s,\nt:syscalls:sys_exit_connect { }"));
  EXPECT_TRUE(script_uses_tracepoints("BEGIN {}\n  tracepoint:sched:* {}"));
  EXPECT_FALSE(script_uses_tracepoints("usdt:/bin/app:http:start { printf(\"t:x\"); }"));
  EXPECT_FALSE(script_uses_tracepoints("// tracepoint:syscalls:sys_enter_connect\nBEGIN {}"));
  EXPECT_FALSE(script_uses_tracepoints("uprobe:/lib/libssl.so:SSL_connect { }"));
}

TEST(TracefsAvailable, looks_for_either_mount_point) {
  TempDir root;
  EXPECT_FALSE(tracefs_available(root.path()));
  std::filesystem::create_directories(root.path() + "/kernel/debug/tracing/events");
  EXPECT_TRUE(tracefs_available(root.path()));
  TempDir other;
  std::filesystem::create_directories(other.path() + "/kernel/tracing/events");
  EXPECT_TRUE(tracefs_available(other.path()));
}

TEST(ProcessStartTime, tells_live_processes_from_gone_ones) {
  EXPECT_TRUE(process_start_time(::getpid()).has_value());
  auto child = spawn_child("/bin/true", {"true"});
  const int pid = child->pid();
  child->wait_for(std::chrono::seconds(5));
  child.reset();
  EXPECT_FALSE(process_start_time(pid).has_value());
}

TEST(DiagnoseFailure, syntax_error_quotes_bpftrace) {
  const auto d = diagnose_failure({kMemlock, R"(bad.bt:1:22-23: ERROR: syntax error, unexpected }, expecting ) or ",")",
                                   R"(BEGIN { printf("x\n" })", "                     ~"},
                                  kExit1, true);
  EXPECT_EQ(d.kind, FailureKind::kScriptError);
  EXPECT_EQ(d.message,
            "bpftrace could not compile the script (bpftrace exit code 1); bpftrace said:\n"
            "  bad.bt:1:22-23: ERROR: syntax error, unexpected }, expecting ) or \",\"\n"
            "  BEGIN { printf(\"x\\\\n\" }\n"
            "                       ~");
}

TEST(DiagnoseFailure, semantic_error_is_a_script_error) {
  const auto d = diagnose_failure({"stdin:1:14-26: ERROR: Unknown function: undefined_fn"}, kExit1, true);
  EXPECT_EQ(d.kind, FailureKind::kScriptError);
}

TEST(DiagnoseFailure, probe_not_found_variants) {
  for (const auto& output : std::vector<std::vector<std::string>>{
           {"No probes to attach"},
           {"stdin:1:1-24: ERROR: uprobe target file '/no/such/bin' does not exist or is not executable"},
           {"stdin:1:1-21: ERROR: tracepoint not found: nope:nope"},
           {"create_probe_event: open(/sys/kernel/tracing/kprobe_events): No such file or directory",
            "ERROR: Error attaching probe: 'kprobe:no_such_kfunc_xyz'"},
       }) {
    const auto d = diagnose_failure(output, kExit1, true);
    EXPECT_EQ(d.kind, FailureKind::kProbeNotFound) << output.back();
    EXPECT_TRUE(contains(d.message, output.back())) << d.message;
  }
}

TEST(DiagnoseFailure, tracepoint_not_found_without_tracefs_says_how_to_mount_it) {
  const auto d =
      diagnose_failure({"stdin:1:1-38: ERROR: tracepoint not found: syscalls:sys_enter_connect"}, kExit1, false);
  EXPECT_EQ(d.kind, FailureKind::kTracefsMissing);
  EXPECT_TRUE(contains(d.message, "mount -t tracefs nodev /sys/kernel/tracing")) << d.message;
}

TEST(DiagnoseFailure, privileges) {
  EXPECT_EQ(diagnose_failure({"ERROR: bpftrace currently only supports running as the root user."}, kExit1, true).kind,
            FailureKind::kPrivileges);
  const auto d = diagnose_failure({kMemlock, R"({"type": "attached_probes", "data": {"probes": 1}})",
                                   "ERROR: failed to create  map: Operation not permitted",
                                   "Creation of the required BPF maps has failed."},
                                  kExit1, true);
  EXPECT_EQ(d.kind, FailureKind::kPrivileges);
  EXPECT_TRUE(contains(d.message, "run as root")) << d.message;
}

TEST(DiagnoseFailure, no_such_process_command_and_script_file) {
  EXPECT_EQ(diagnose_failure({"ERROR: : No such process"}, kExit1, true).kind, FailureKind::kNoSuchProcess);
  EXPECT_EQ(diagnose_failure({"ERROR: Failed to fork child: path '/no/such/cmd' does not exist or is not executable"},
                             kExit255, true)
                .kind,
            FailureKind::kCommandNotFound);
  EXPECT_EQ(diagnose_failure({"ERROR: failed to open file '/nonexistent.bt': No such file or directory"}, kExit255,
                             true)
                .kind,
            FailureKind::kScriptNotFound);
}

TEST(DiagnoseFailure, unlocated_errors_are_not_taken_for_script_errors) {
  EXPECT_EQ(diagnose_failure({"ERROR: something else went wrong"}, kExit1, true).kind, FailureKind::kUnknown);
  EXPECT_EQ(diagnose_failure({"a file:1:2: ERROR: spaces are not a location"}, kExit1, true).kind,
            FailureKind::kUnknown);
  EXPECT_EQ(diagnose_failure({"x.bt:12:3: ERROR: no range"}, kExit1, true).kind, FailureKind::kScriptError);
}

TEST(DiagnoseFailure, silent_failure_says_so) {
  const auto d = diagnose_failure({kMemlock}, kExit1, true);
  EXPECT_EQ(d.kind, FailureKind::kUnknown);
  EXPECT_EQ(d.message, "bpftrace failed before tracing started (bpftrace exit code 1); bpftrace printed nothing");
}

TEST(DescribeWaitStatus, exit_codes_and_signals) {
  EXPECT_EQ(describe_wait_status(3 << 8), "exit code 3");
  EXPECT_EQ(describe_wait_status(SIGKILL), "killed by signal 9 (Killed)");
  EXPECT_EQ(wait_status_code(3 << 8), 3);
  EXPECT_EQ(wait_status_code(SIGTERM), 128 + SIGTERM);
}

}  // namespace
}  // namespace bto

namespace bto {
namespace {

TEST(DiagnoseFailure, uprobe_without_cap_sys_admin_is_a_privilege_problem) {
  const FailureDiagnosis read_only = diagnose_failure(
      {"create_probe_event: open(/sys/kernel/tracing/uprobe_events): Read-only file system"}, 1 << 8,
      true);
  EXPECT_EQ(read_only.kind, FailureKind::kPrivileges);
  EXPECT_NE(read_only.message.find("CAP_SYS_ADMIN"), std::string::npos);
  const FailureDiagnosis invalid = diagnose_failure(
      {"cannot attach uprobe, Invalid argument", "ERROR: Error attaching probe: 'usdt:/x:demo:y'"}, 1 << 8,
      true);
  EXPECT_EQ(invalid.kind, FailureKind::kPrivileges);
}

}  // namespace
}  // namespace bto
