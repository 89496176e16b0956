// What a resource per process costs (docs/resources.md): the per-span lookup
// (a hash hit, with 1 and with 1,000 processes), the one /proc read per
// process (real processes, real /proc), and 1,000 live processes handled end
// to end: read once each, then hits, then evicted when they exit.

#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "allocation_counter.h"
#include "resource/process_resources.h"

namespace {

using bto::ProcessResourceOptions;
using bto::ResourceInfo;
using bto::ResourceStats;

ResourceInfo own_resource() {
  ResourceInfo info;
  info.attributes.set_string("service.name", "bench");
  info.attributes.set_string("host.name", "bench-host");
  return info;
}

// N real processes (children of this benchmark), each blocked in pause(),
// killed and reaped by the destructor.
class Children {
 public:
  explicit Children(size_t count) {
    pids_.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) ::pause();
      }
      if (pid < 0) break;
      pids_.push_back(pid);
    }
  }
  ~Children() { kill_all(); }
  void kill_all() {
    for (const pid_t pid : pids_) ::kill(pid, SIGKILL);
    for (const pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
    pids_.clear();
  }
  const std::vector<pid_t>& pids() const { return pids_; }

 private:
  std::vector<pid_t> pids_;
};

// The per-span lookup when every span comes from one process (the common
// case, and the pipeline benchmark's stream).
void BM_LookupOneProcess(benchmark::State& state) {
  ResourceStats stats;
  auto resources = bto::create_process_resources({}, own_resource(), "", 4096, stats);
  const int64_t pid = ::getpid();
  resources->resource_of(pid);
  const uint64_t allocations = bto::testing::allocations();
  for (auto _ : state) benchmark::DoNotOptimize(resources->resource_of(pid).get());
  state.counters["allocs_per_lookup"] =
      static_cast<double>(bto::testing::allocations() - allocations) / static_cast<double>(state.iterations());
  state.counters["proc_reads"] = static_cast<double>(stats.processes.load());
}
BENCHMARK(BM_LookupOneProcess);

// The same with spans of 1,000 processes interleaved: a hash hit each.
void BM_LookupThousandProcesses(benchmark::State& state) {
  Children children(1000);
  ResourceStats stats;
  ProcessResourceOptions options;
  auto resources = bto::create_process_resources(options, own_resource(), "", 4096, stats);
  for (const pid_t pid : children.pids()) resources->resource_of(pid);
  const std::vector<pid_t>& pids = children.pids();
  size_t i = 0;
  const uint64_t allocations = bto::testing::allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(resources->resource_of(pids[i]).get());
    i = (i * 7 + 13) % pids.size();  // not in pid order
  }
  state.counters["allocs_per_lookup"] =
      static_cast<double>(bto::testing::allocations() - allocations) / static_cast<double>(state.iterations());
  state.counters["processes"] = static_cast<double>(pids.size());
  state.counters["proc_reads_per_process"] =
      static_cast<double>(stats.processes.load()) / static_cast<double>(pids.size());
}
BENCHMARK(BM_LookupThousandProcesses);

// A process's first span: /proc/PID read and its resource built (real /proc,
// a child blocked in pause()). Each iteration is a new cache, so a new read.
void BM_FirstSpanOfAProcess(benchmark::State& state) {
  Children child(1);
  const ResourceInfo own = own_resource();
  ResourceStats stats;
  for (auto _ : state) {
    auto resources = bto::create_process_resources({}, own, "", 4096, stats);
    benchmark::DoNotOptimize(resources->resource_of(child.pids().front()).get());
  }
  state.counters["proc_reads"] = static_cast<double>(stats.processes.load()) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_FirstSpanOfAProcess)->Unit(benchmark::kMicrosecond);

// 1,000 live processes handled: each read once at its first span, 100 spans
// each as hash hits, every one re-checked (sweeps), then all exit and are
// evicted by the next re-check. One iteration is the whole story.
void BM_ThousandProcessesLifecycle(benchmark::State& state) {
  double first_reads_us = 0, rechecks_us = 0, eviction_us = 0;
  uint64_t reads = 0, evicted = 0, cached_peak = 0, hits = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Children children(1000);
    state.ResumeTiming();
    ResourceStats stats;
    ProcessResourceOptions options;
    options.recheck_interval = std::chrono::milliseconds(10);
    auto resources = bto::create_process_resources(options, own_resource(), "", 4096, stats);
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    for (const pid_t pid : children.pids()) resources->resource_of(pid);
    auto t1 = Clock::now();
    for (int round = 0; round < 100; ++round) {
      for (const pid_t pid : children.pids()) hits += static_cast<bool>(resources->resource_of(pid));
    }
    cached_peak = stats.cached.load();
    auto t2 = Clock::now();
    Clock::time_point now = Clock::now() + std::chrono::seconds(1);
    for (int sweep = 0; sweep < 20; ++sweep) resources->sweep(now);  // 64 per sweep: one full pass
    auto t3 = Clock::now();
    state.PauseTiming();
    children.kill_all();
    state.ResumeTiming();
    auto t4 = Clock::now();
    now += std::chrono::seconds(1);
    for (int sweep = 0; sweep < 20; ++sweep) resources->sweep(now);
    auto t5 = Clock::now();
    first_reads_us += std::chrono::duration<double, std::micro>(t1 - t0).count();
    rechecks_us += std::chrono::duration<double, std::micro>(t3 - t2).count();
    eviction_us += std::chrono::duration<double, std::micro>(t5 - t4).count();
    reads += stats.processes.load();
    evicted += stats.processes_exited.load();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["first_read_us_per_process"] = first_reads_us / n / 1000;
  state.counters["recheck_us_per_process"] = rechecks_us / n / 1000;
  state.counters["evict_us_per_process"] = eviction_us / n / 1000;
  state.counters["proc_reads_per_process"] = static_cast<double>(reads) / n / 1000;
  state.counters["evicted_per_iteration"] = static_cast<double>(evicted) / n;
  state.counters["cached_peak"] = static_cast<double>(cached_peak);
  state.counters["hits_per_iteration"] = static_cast<double>(hits) / n;
}
BENCHMARK(BM_ThousandProcessesLifecycle)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
