// The pre-flight helpers: capabilities, tracepoints in a script, tracefs, process identity.

#include "source/startup_checks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

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
