// Every failure, diagnosed from what each bpftrace version really printed
// (tests/data/bpftrace/<version>/<case>.{out,err}, recorded by record.sh):
// the diagnosis names the real cause on 0.17, 0.23 and 0.27.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "source/bpftrace_diagnosis.h"
#include "source/output_filter.h"

namespace bto {
namespace {

const std::filesystem::path kRecordings = std::filesystem::path(BTO_SOURCE_DIR) / "tests/data/bpftrace";
constexpr int kExit1 = 1 << 8;

struct Version {
  std::string dir;
  BpftraceVersion version;
};
const Version kVersions[] = {{"0.17.0", {0, 17}}, {"0.23.2", {0, 23}}, {"0.27.1", {0, 27}}};

// What the source keeps of a run: non-JSON stdout lines and stderr lines
// (harmless ones too: the diagnosis must ignore them), through OutputRing.
std::vector<std::string> kept_output(const std::string& version, const std::string& name) {
  OutputRing ring;
  for (const char* ext : {".out", ".err"}) {
    std::ifstream in(kRecordings / version / (name + ext));
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line.front() == '{') continue;
      ring.add(line);
    }
  }
  return ring.lines();
}

struct Expect {
  FailureKind kind;
  std::string names;  // the message must contain this ("" for no check)
};

struct Case {
  std::string name;
  bool tracefs = true;
  std::map<std::string, std::optional<Expect>> by_version;  // nullopt: this version does not fail
};

const std::string kProbe = "was not found";

std::vector<Case> cases() {
  const auto all = [](Expect e) {
    return std::map<std::string, std::optional<Expect>>{{"0.17.0", e}, {"0.23.2", e}, {"0.27.1", e}};
  };
  return {
      {"syntax_error", true, all({FailureKind::kScriptError, "could not compile"})},
      {"usdt_missing_probe_arg0", true, all({FailureKind::kProbeNotFound, kProbe})},
      {"usdt_missing_probe", true, all({FailureKind::kProbeNotFound, kProbe})},
      // Without -p (system-wide): 0.23 says "Failed to compile: Failed to find usdt probe".
      {"usdt_missing_probe_system_wide", true, all({FailureKind::kProbeNotFound, kProbe})},
      {"uprobe_missing_function", true, all({FailureKind::kProbeNotFound, kProbe})},
      {"uprobe_missing_library", true, all({FailureKind::kProbeNotFound, kProbe})},
      {"tracepoint_missing", true, all({FailureKind::kProbeNotFound, kProbe})},
      {"tracefs_missing", false, all({FailureKind::kTracefsMissing, "mount -t tracefs"})},
      {"no_such_pid", true, all({FailureKind::kNoSuchProcess, "--pid"})},
      {"command_not_found", true, all({FailureKind::kCommandNotFound, "-c"})},
      {"script_not_found", true, all({FailureKind::kScriptNotFound, "--script"})},
      {"caps_no_perfmon_no_sys_admin", true, all({FailureKind::kPrivileges, "CAP_PERFMON"})},
      {"caps_no_bpf_no_sys_admin", true, all({FailureKind::kPrivileges, "CAP_BPF"})},
      {"caps_non_root_none", true, all({FailureKind::kPrivileges, "root"})},
      // Uprobes need CAP_SYS_ADMIN up to 0.24; 0.27 attaches them with CAP_BPF + CAP_PERFMON.
      {"caps_no_sys_admin",
       true,
       {{"0.17.0", Expect{FailureKind::kPrivileges, "CAP_SYS_ADMIN"}},
        {"0.23.2", Expect{FailureKind::kPrivileges, "CAP_SYS_ADMIN"}},
        {"0.27.1", std::nullopt}}},
      // Up to 0.24 bpftrace refuses any uid but 0; 0.25+ name the capability missing.
      {"caps_non_root_four",
       true,
       {{"0.17.0", Expect{FailureKind::kPrivileges, "run as root"}},
        {"0.23.2", Expect{FailureKind::kPrivileges, "run as root"}},
        {"0.27.1", Expect{FailureKind::kPrivileges, "CAP_DAC_READ_SEARCH"}}}},
      {"caps_non_root_five",
       true,
       {{"0.17.0", Expect{FailureKind::kPrivileges, "run as root"}},
        {"0.23.2", Expect{FailureKind::kPrivileges, "run as root"}},
        {"0.27.1", Expect{FailureKind::kPrivileges, "CAP_DAC_OVERRIDE"}}}},
      // Without CAP_SYS_PTRACE 0.27 only says the probe has no attach points;
      // the pre-flight check (startup_checks.h) names CAP_SYS_PTRACE before
      // bpftrace runs, on every version.
      {"caps_no_sys_ptrace",
       true,
       {{"0.17.0", Expect{FailureKind::kPrivileges, "CAP_SYS_PTRACE"}},
        {"0.23.2", Expect{FailureKind::kPrivileges, "CAP_SYS_PTRACE"}},
        {"0.27.1", Expect{FailureKind::kProbeNotFound, kProbe}}}},
  };
}

TEST(BpftraceVersionsDiagnosis, every_recorded_failure_names_its_cause) {
  for (const Case& c : cases()) {
    for (const Version& v : kVersions) {
      SCOPED_TRACE(c.name + " on bpftrace " + v.dir);
      const auto& expect = c.by_version.at(v.dir);
      const std::vector<std::string> output = kept_output(v.dir, c.name);
      if (!expect) continue;  // it works on this version
      ASSERT_FALSE(output.empty()) << "no recording";
      const FailureDiagnosis d = diagnose_failure(output, kExit1, c.tracefs, v.version);
      EXPECT_EQ(d.kind, expect->kind) << d.message;
      EXPECT_NE(d.message.find(expect->names), std::string::npos) << d.message;
      // The line bpftrace gave as the reason is quoted.
      EXPECT_NE(d.message.find("bpftrace said:"), std::string::npos) << d.message;
    }
  }
}

// Without knowing the version every row applies: the same answers.
TEST(BpftraceVersionsDiagnosis, an_unknown_version_is_diagnosed_too) {
  for (const Case& c : cases()) {
    for (const Version& v : kVersions) {
      const auto& expect = c.by_version.at(v.dir);
      if (!expect) continue;
      const FailureDiagnosis d = diagnose_failure(kept_output(v.dir, c.name), kExit1, c.tracefs, std::nullopt);
      EXPECT_EQ(d.kind, expect->kind) << c.name << " on " << v.dir << ": " << d.message;
    }
  }
}

// bpftrace 0.26+ print three lines per compile warning; thirty of them
// around the error must not hide it, in the ring or in the message.
TEST(BpftraceVersionsDiagnosis, warnings_do_not_crowd_out_the_error) {
  const std::vector<std::string> warning = {"stdin:1:20-34: WARNING: Return value discarded.",
                                            "BEGIN { @m[1] = 1; delete(@m[1]); }", "                   ~~~~~~~~~~~~~~"};
  OutputRing ring;
  for (int i = 0; i < 15; ++i) {
    for (const auto& line : warning) ring.add(line);
  }
  ring.add("stdin:2:1-40: ERROR: Probe has no valid attach points. If this is expected, set the 'missing_probes' "
           "config variable to 'warn'.");
  ring.add("usdt:$1:demo:no_such_probe { print((\"x_start\", \"request_id\", arg0)); }");
  ring.add("~~~~~~~~~~~~~~~~~~~~~~~~~~~");
  for (int i = 0; i < 15; ++i) {
    for (const auto& line : warning) ring.add(line);
  }
  const FailureDiagnosis d = diagnose_failure(ring.lines(), kExit1, true, BpftraceVersion{0, 27});
  EXPECT_EQ(d.kind, FailureKind::kProbeNotFound) << d.message;
  EXPECT_NE(d.message.find("Probe has no valid attach points"), std::string::npos) << d.message;
  EXPECT_EQ(d.message.find("Return value discarded"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("lines of bpftrace warnings left out"), std::string::npos) << d.message;
  // Warnings alone are quoted as they are.
  const FailureDiagnosis only = diagnose_failure(warning, kExit1, true, BpftraceVersion{0, 27});
  EXPECT_NE(only.message.find("Return value discarded"), std::string::npos) << only.message;
}

TEST(BpftraceVersionsDiagnosis, message_blocks) {
  EXPECT_EQ(block_started_by("WARNING: Could not read functions"), MessageBlock::kWarning);
  EXPECT_EQ(block_started_by("stdin:1:20-34: WARNING: Return value discarded."), MessageBlock::kWarning);
  EXPECT_EQ(block_started_by("ERROR: : No such process"), MessageBlock::kError);
  EXPECT_EQ(block_started_by("/x.bt:12:1-32: ERROR: Probe has no valid attach points."), MessageBlock::kError);
  EXPECT_EQ(block_started_by("error: <unknown>:0:0: in function x: A call to built-in function 'memset'"),
            MessageBlock::kError);
  EXPECT_EQ(block_started_by("  delete(@cur[tid]);"), std::nullopt);
  // A script line that prints the word is context, not a header.
  EXPECT_EQ(block_started_by("  printf(\"WARNING: %s\\n\", str(arg0));"), std::nullopt);
}

}  // namespace
}  // namespace bto
