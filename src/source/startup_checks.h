#pragma once
// Pre-flight checks before bpftrace is started (BpftraceSource::check): the
// options make sense, bpftrace is there, we may trace, the script is readable,
// tracefs is mounted when the script needs it, the target PID exists. Each
// failure is a StartupError whose message says how to fix it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/bpftrace_process.h"

namespace bto {

// What the checks found out, kept for the run.
struct StartupFacts {
  std::string bpftrace_path;                            // resolved through PATH
  bool tracefs_mounted = true;                          // for the diagnosis of "tracepoint not found"
  std::optional<unsigned long long> target_start_time;  // of options.target_pid (0: none)
};

// Throws StartupError with an actionable message.
StartupFacts run_startup_checks(const SourceOptions& options);

// CapEff from /proc/self/status text has CAP_SYS_ADMIN or CAP_BPF.
bool has_bpf_capabilities(std::string_view proc_status_text);
// CapEff from /proc/self/status text; nullopt when absent or malformed.
std::optional<uint64_t> effective_capabilities(std::string_view proc_status_text);

// The capabilities bpftrace will lack (it inherits ours) for the run
// described, each with why it is needed (docs/compatibility.md, "Capabilities").
struct CapabilityFacts {
  uint64_t effective = 0;           // CapEff
  bool non_root = false;            // euid != 0
  bool target_unreadable = false;   // user probes of --pid, and /proc/PID/exe gave EACCES/EPERM
  bool target_unsignalable = false; // --pid, and kill(PID, 0) gave EPERM
};
struct MissingCapability {
  std::string name;  // "CAP_KILL"
  std::string why;
};
std::vector<MissingCapability> missing_capabilities(const CapabilityFacts& facts, const BpftraceTraits& traits);
// The script names a tracepoint probe (tracepoint:... or t:...), which needs tracefs.
bool script_uses_tracepoints(std::string_view script_text);
// The script names a probe in user space (usdt:, uprobe:, uretprobe: and their
// short forms), which with a target PID means reading that process.
bool script_uses_user_probes(std::string_view script_text);

// /sys/kernel/tracing/events or /sys/kernel/debug/tracing/events under `sys_root`.
bool tracefs_available(const std::string& sys_root = "/sys");
// Field 22 of /proc/PID/stat: tells a PID from a later process reusing it.
std::optional<unsigned long long> process_start_time(int pid);

}  // namespace bto
