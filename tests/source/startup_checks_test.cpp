// The pre-flight helpers: capabilities, tracepoints in a script, tracefs, process identity.

#include "source/startup_checks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "source/child_process.h"
#include "source/helpers/test_support.h"

namespace bto {
namespace {

using testing::TempDir;

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

}  // namespace
}  // namespace bto

namespace bto {
namespace {

TEST(ScriptUsesUserProbes, finds_usdt_and_uprobes_not_mentions) {
  EXPECT_TRUE(script_uses_user_probes("usdt:$1:demo:http_request_start { }"));
  EXPECT_TRUE(script_uses_user_probes("BEGIN {}\nusdt::demo:x { }"));
  EXPECT_TRUE(script_uses_user_probes("tracepoint:a:b {}\nuprobe:/usr/lib/libssl.so.3:SSL_read {}"));
  EXPECT_TRUE(script_uses_user_probes("uretprobe:libssl:SSL_do_handshake {}"));
  EXPECT_TRUE(script_uses_user_probes("u:libc:malloc, ur:libc:free {}"));
  EXPECT_FALSE(script_uses_user_probes("tracepoint:syscalls:sys_enter_connect { printf(\"usdt:x\"); }"));
  EXPECT_FALSE(script_uses_user_probes("// usdt:$1:demo:x\nBEGIN { }"));
  EXPECT_FALSE(script_uses_user_probes("BEGIN { $u = 1; }"));
}

}  // namespace
}  // namespace bto

namespace bto {
namespace {

std::vector<std::string> names(const std::vector<MissingCapability>& missing) {
  std::vector<std::string> out;
  for (const auto& m : missing) out.push_back(m.name);
  return out;
}

constexpr uint64_t cap(int n) { return uint64_t{1} << n; }
constexpr uint64_t kFour = cap(39) | cap(38) | cap(21) | cap(19);  // BPF, PERFMON, SYS_ADMIN, SYS_PTRACE

TEST(MissingCapabilities, by_version_and_user) {
  const BpftraceTraits old_bpftrace = traits_of(BpftraceVersion{0, 23});
  const BpftraceTraits new_bpftrace = traits_of(BpftraceVersion{0, 27});
  // Root with everything: nothing missing on any version.
  EXPECT_TRUE(missing_capabilities({~uint64_t{0}, false, false, false}, new_bpftrace).empty());
  // A target we may not read: CAP_SYS_PTRACE on every version.
  EXPECT_EQ(names(missing_capabilities({kFour, false, true, false}, old_bpftrace)),
            std::vector<std::string>{"CAP_SYS_PTRACE"});
  // A target we may not signal: only 0.25+ care (kill(PID, 0) liveness).
  EXPECT_TRUE(missing_capabilities({kFour, false, false, true}, old_bpftrace).empty());
  EXPECT_EQ(names(missing_capabilities({kFour, false, false, true}, new_bpftrace)),
            std::vector<std::string>{"CAP_KILL"});
  // Non-root with the four: 0.25+ also want both DAC capabilities (and CAP_KILL for root's process).
  EXPECT_EQ(names(missing_capabilities({kFour, true, false, true}, new_bpftrace)),
            (std::vector<std::string>{"CAP_KILL", "CAP_DAC_READ_SEARCH", "CAP_DAC_OVERRIDE"}));
  // ... and CAP_BPF + CAP_PERFMON unless CAP_SYS_ADMIN.
  EXPECT_EQ(names(missing_capabilities({cap(1) | cap(2), true, false, false}, new_bpftrace)),
            (std::vector<std::string>{"CAP_BPF", "CAP_PERFMON"}));
  EXPECT_TRUE(missing_capabilities({cap(1) | cap(2) | cap(21), true, false, false}, new_bpftrace).empty());
  // Before 0.25 bpftrace refuses non-root itself (its message is diagnosed): nothing asked here.
  EXPECT_TRUE(missing_capabilities({kFour, true, false, false}, old_bpftrace).empty());
}

TEST(EffectiveCapabilities, parses_cap_eff) {
  EXPECT_EQ(effective_capabilities("CapInh:\t0\nCapEff:\t000001ffffffffff\n"), 0x1ffffffffffULL);
  EXPECT_EQ(effective_capabilities("CapPrm:\t0\n"), std::nullopt);
  EXPECT_EQ(effective_capabilities("CapEff:\tzz\n"), std::nullopt);
}

}  // namespace
}  // namespace bto
