#pragma once
// The resource stage's interface: a resource per traced process, for the
// correlator (spans/resource.h) to attach to every span, and the exporter's
// own resource for spans that name no process. docs/resources.md has the
// attribute list and the rules.
//
// A process is read from /proc once, at its first span; after that a span's
// lookup is a hash hit on its pid. Entries are checked again every
// recheck_interval (a few at a time, from sweep()): a process that exited is
// evicted, and a pid now held by another process (start time in
// /proc/PID/stat differs) too, so its next span reads the new process. At
// most max_processes are kept: spans of further processes get the exporter's
// own resource and are counted (overflow_spans).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "export/resource.h"
#include "spans/resource.h"

namespace bto {

struct ProcessResourceOptions {
  // Where the pids in events are found: the host's /proc when we share its
  // pid namespace (hostPID), or the host's /proc mounted elsewhere.
  std::string proc_root = "/proc";
  size_t max_processes = 4096;
  std::chrono::milliseconds recheck_interval{2000};
  // Read the process's OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
  bool process_environment = true;
  // false (replaying a recording: its pids are not ours to read): resources
  // name the pid only, and the oldest is replaced when max_processes is reached.
  bool read_proc = true;
  // --pid: every span gets this process's resource, whatever pid its event names.
  int64_t single_pid = 0;
};

struct ResourceStats {
  std::atomic<uint64_t> processes{0};             // resources built (first span of a process)
  std::atomic<uint64_t> processes_unreadable{0};  // gone (or /proc unreadable) at first sight: pid only
  std::atomic<uint64_t> processes_exited{0};      // entries evicted: the process is gone
  std::atomic<uint64_t> pid_reuses{0};            // entries evicted: the pid belongs to a new process
  std::atomic<uint64_t> cached{0};                // gauge: processes held now
  std::atomic<uint64_t> overflow_spans{0};        // spans given the exporter's resource at max_processes
  std::atomic<uint64_t> env_attributes_dropped{0};  // a process's own attributes beyond the limits
  std::atomic<uint64_t> env_attributes_invalid{0};  // processes whose OTEL_RESOURCE_ATTRIBUTES did not parse
};

class ProcessResources : public ResourceResolver {
 public:
  // Reader thread: re-checks the processes due (exit, pid reuse). Cheap when
  // none is due; call after every chunk and on idle, like the correlator's.
  virtual void sweep(std::chrono::steady_clock::time_point now) = 0;
};

// `base`: the exporter's own resource (export/resource.h), whose attributes
// every process resource starts from; `configured_service_name` is empty
// when no service name was configured. Never throws on /proc trouble.
std::unique_ptr<ProcessResources> create_process_resources(const ProcessResourceOptions& options,
                                                           const ResourceInfo& base,
                                                           std::string configured_service_name,
                                                           size_t value_limit, ResourceStats& stats);

}  // namespace bto
