// Failure diagnosis. The inputs are bpftrace 0.17's own output, verbatim,
// for each failure class.

#include "source/bpftrace_diagnosis.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bto {
namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

constexpr int kExit1 = 1 << 8;    // wait status of exit(1)
constexpr int kExit255 = 255 << 8;
const std::string kMemlock =
    "ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can "
    "try \"ulimit -l 8192\" to fix the problem";

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

TEST(DiagnoseFailure, rows_apply_to_the_bpftrace_versions_known_to_print_them) {
  const std::vector<std::string> output = {"No probes to attach"};
  EXPECT_EQ(diagnose_failure(output, kExit1, true).kind, FailureKind::kProbeNotFound);  // version unknown
  EXPECT_EQ(diagnose_failure(output, kExit1, true, BpftraceVersion{0, 17}).kind, FailureKind::kProbeNotFound);
  EXPECT_EQ(diagnose_failure(output, kExit1, true, BpftraceVersion{0, 25}).kind, FailureKind::kProbeNotFound);
  // Every known message so far was verified from 0.17 on.
  EXPECT_EQ(diagnose_failure(output, kExit1, true, BpftraceVersion{0, 16}).kind, FailureKind::kUnknown);
}

TEST(BpftraceVersions, bounds_are_inclusive) {
  const BpftraceVersions range{{0, 17}, BpftraceVersion{0, 20}};
  EXPECT_FALSE(range.contain({0, 16}));
  EXPECT_TRUE(range.contain({0, 17}));
  EXPECT_TRUE(range.contain({0, 20}));
  EXPECT_FALSE(range.contain({0, 21}));
  EXPECT_FALSE(range.contain({1, 0}));
  EXPECT_TRUE((BpftraceVersions{{0, 17}, std::nullopt}).contain({1, 0}));
}

}  // namespace
}  // namespace bto
