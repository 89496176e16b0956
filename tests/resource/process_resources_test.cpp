// The per-process resource cache: one /proc read per process, a hash hit per
// span, exit and pid-reuse eviction, the bound, --pid and replay modes.

#include "resource/process_resources.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "allocation_counter.h"
#include "fake_proc.h"

namespace bto {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;
using testing::FakeProc;
using testing::FakeProcess;

std::string attr(const ResourceRef& r, std::string_view key) {
  const Attribute* a = r ? r->attributes.find(key) : nullptr;
  if (a == nullptr) return "<none>";
  return a->type == AttrType::kInt ? std::to_string(a->int_value) : a->string_value;
}

ResourceInfo own_resource() {
  ResourceInfo info;
  info.attributes.set_string("service.name", "exporter-own");
  info.attributes.set_string("host.name", "node-1");
  return info;
}

struct Cache {
  FakeProc proc;
  ResourceStats stats;
  ProcessResourceOptions options;
  std::unique_ptr<ProcessResources> resources;

  explicit Cache(size_t max = 16) {
    options.proc_root = proc.path();
    options.max_processes = max;
    options.recheck_interval = 1000ms;
  }
  ProcessResources& make(std::string configured = "") {
    resources = create_process_resources(options, own_resource(), std::move(configured), 4096, stats);
    return *resources;
  }
  void add(int64_t pid, uint64_t start = 1000, std::string env = "") {
    FakeProcess p;
    p.pid = pid;
    p.start_ticks = start;
    p.environ = std::move(env);
    proc.add(p);
  }
  // A full re-check pass (sweeps check 64 entries per call).
  void recheck(Clock::time_point now) {
    for (int i = 0; i < 100; ++i) resources->sweep(now);
  }
};

TEST(ProcessResources, one_read_per_process_then_hash_hits) {
  Cache c;
  c.add(100, 1000, "OTEL_SERVICE_NAME=checkout\0"s);
  c.add(200);
  ProcessResources& r = c.make();
  const ResourceRef first = r.resource_of(100);
  ASSERT_TRUE(first);
  EXPECT_EQ(attr(first, "service.name"), "checkout");
  EXPECT_EQ(attr(first, "process.pid"), "100");
  EXPECT_EQ(attr(first, "host.name"), "node-1");  // from the exporter's own resource
  EXPECT_EQ(attr(r.resource_of(200), "service.name"), "unknown_service:demo-server");
  c.proc.remove(100);  // a hit does not read /proc
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(r.resource_of(100).get(), first.get());
    EXPECT_NE(r.resource_of(200).get(), first.get());
  }
  EXPECT_EQ(c.stats.processes, 2u);
  EXPECT_EQ(c.stats.cached, 2u);
}

TEST(ProcessResources, spans_without_a_pid_get_the_exporters_resource) {
  Cache c;
  ProcessResources& r = c.make();
  EXPECT_FALSE(r.resource_of(0));
  EXPECT_FALSE(r.resource_of(-5));
  EXPECT_EQ(c.stats.processes, 0u);
}

TEST(ProcessResources, hits_allocate_nothing) {
  Cache c;
  for (int64_t pid = 1; pid <= 8; ++pid) c.add(pid);
  ProcessResources& r = c.make();
  for (int64_t pid = 1; pid <= 8; ++pid) r.resource_of(pid);
  [[maybe_unused]] const uint64_t before = testing::allocations();
  size_t found = 0;
  for (int i = 0; i < 10000; ++i) found += static_cast<bool>(r.resource_of(1 + i % 8));
  EXPECT_EQ(found, 10000u);
#ifdef BTO_COUNTS_ALLOCATIONS
  EXPECT_EQ(testing::allocations() - before, 0u);
#endif
}

TEST(ProcessResources, exited_processes_are_evicted_at_the_recheck) {
  Cache c;
  c.add(100);
  ProcessResources& r = c.make();
  const Clock::time_point t0 = Clock::now();
  ResourceRef held = r.resource_of(100);
  c.recheck(t0);  // first pass: alive
  EXPECT_EQ(c.stats.cached, 1u);
  c.proc.remove(100);
  c.recheck(t0 + 500ms);  // not due yet
  EXPECT_EQ(c.stats.cached, 1u);
  c.recheck(t0 + 1100ms);
  EXPECT_EQ(c.stats.cached, 0u);
  EXPECT_EQ(c.stats.processes_exited, 1u);
  // Spans still holding it keep it alive and readable.
  EXPECT_EQ(attr(held, "process.pid"), "100");
  EXPECT_EQ(held->use_count(), 1u);
}

TEST(ProcessResources, pid_reuse_is_detected_by_start_time) {
  Cache c;
  c.add(100, 1000, "OTEL_SERVICE_NAME=old\0"s);
  ProcessResources& r = c.make();
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(attr(r.resource_of(100), "service.name"), "old");
  c.recheck(t0);
  c.add(100, 5000, "OTEL_SERVICE_NAME=new\0"s);  // exited, and the pid went to a new process
  c.recheck(t0 + 1100ms);
  EXPECT_EQ(c.stats.pid_reuses, 1u);
  EXPECT_EQ(attr(r.resource_of(100), "service.name"), "new");
  EXPECT_EQ(c.stats.processes, 2u);
}

TEST(ProcessResources, a_process_gone_at_first_sight_names_its_pid_only) {
  Cache c;
  ProcessResources& r = c.make("fleet");
  const ResourceRef gone = r.resource_of(31337);
  ASSERT_TRUE(gone);
  EXPECT_EQ(attr(gone, "process.pid"), "31337");
  EXPECT_EQ(attr(gone, "service.name"), "fleet");
  EXPECT_EQ(attr(gone, "process.executable.name"), "<none>");
  EXPECT_EQ(c.stats.processes_unreadable, 1u);
  // Evicted at the next check, so a process later given this pid is read.
  c.recheck(Clock::now() + 2s);
  EXPECT_EQ(c.stats.cached, 0u);
}

TEST(ProcessResources, the_bound_overflows_to_the_exporters_resource_counted) {
  Cache c(2);
  for (int64_t pid = 1; pid <= 4; ++pid) c.add(pid);
  ProcessResources& r = c.make();
  EXPECT_TRUE(r.resource_of(1));
  EXPECT_TRUE(r.resource_of(2));
  // Full: the dead are looked for first (pid 1 exited).
  c.proc.remove(1);
  EXPECT_EQ(attr(r.resource_of(3), "process.pid"), "3");
  EXPECT_EQ(c.stats.processes_exited, 1u);
  // Full of live processes (and the last look was < 1 s ago): overflow.
  EXPECT_FALSE(r.resource_of(4));
  EXPECT_FALSE(r.resource_of(4));
  EXPECT_EQ(c.stats.overflow_spans, 2u);
  EXPECT_EQ(c.stats.cached, 2u);
  EXPECT_TRUE(r.resource_of(2));  // known processes are unaffected
}

TEST(ProcessResources, single_target_mode_keeps_one_resource) {
  Cache c;
  c.add(100, 1000, "OTEL_SERVICE_NAME=checkout\0"s);
  c.options.single_pid = 100;
  ProcessResources& r = c.make();
  const ResourceRef target = r.resource_of(100);
  EXPECT_EQ(attr(target, "service.name"), "checkout");
  EXPECT_EQ(attr(target, "process.executable.name"), "demo-server");
  // Whatever pid an event names (a sidecar sees host pids), and none.
  EXPECT_EQ(r.resource_of(0).get(), target.get());
  EXPECT_EQ(r.resource_of(999).get(), target.get());
  EXPECT_EQ(c.stats.processes, 1u);
}

TEST(ProcessResources, replay_names_pids_without_reading_proc) {
  Cache c(3);
  c.add(1, 1000, "OTEL_SERVICE_NAME=live-process\0"s);
  c.options.read_proc = false;
  ProcessResources& r = c.make("fleet");
  const ResourceRef one = r.resource_of(1);
  EXPECT_EQ(attr(one, "service.name"), "fleet");
  EXPECT_EQ(attr(one, "process.executable.name"), "<none>");
  for (int64_t pid = 2; pid <= 10; ++pid) EXPECT_TRUE(r.resource_of(pid));  // replaced, never overflows
  EXPECT_EQ(c.stats.cached, 3u);
  EXPECT_EQ(c.stats.overflow_spans, 0u);
  EXPECT_EQ(attr(r.resource_of(10), "process.pid"), "10");
}

TEST(ProcessResources, a_real_child_process_from_proc) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Until exec has happened, /proc/PID/exe is our own binary.
  for (int i = 0; i < 200; ++i) {
    char exe[256] = {};
    if (readlink(("/proc/" + std::to_string(child) + "/exe").c_str(), exe, sizeof exe - 1) > 0 &&
        std::string(exe).ends_with("sleep")) {
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  ResourceStats stats;
  ProcessResourceOptions options;
  options.recheck_interval = 10ms;
  auto resources = create_process_resources(options, own_resource(), "", 4096, stats);
  const ResourceRef r = resources->resource_of(child);
  EXPECT_EQ(attr(r, "process.executable.name"), "sleep");
  EXPECT_EQ(attr(r, "process.parent_pid"), std::to_string(getpid()));
  EXPECT_EQ(attr(r, "service.name"), "unknown_service:sleep");
  ASSERT_EQ(r->arrays.size(), 1u);
  EXPECT_EQ(r->arrays[0].values, (std::vector<std::string>{"sleep", "30"}));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  const Clock::time_point t0 = Clock::now();
  for (int i = 0; i < 10; ++i) resources->sweep(t0 + std::chrono::milliseconds(20 * i));
  EXPECT_EQ(stats.processes_exited, 1u);
  EXPECT_EQ(stats.cached, 0u);
}

}  // namespace
}  // namespace bto
