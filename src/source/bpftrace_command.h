#pragma once
// The pure parts of running bpftrace: finding it, its argv, pre-flight
// checks, and turning its output of a failed start into an actionable message.
// Messages matched are those of bpftrace 0.17 (see tests/source).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/bpftrace_process.h"

namespace bto {

// `name` itself when it contains a '/', else the first executable match in
// the ':'-separated `path_env`. nullopt when not found or not executable.
std::optional<std::string> find_executable(std::string_view name, std::string_view path_env);

// bpftrace -f json -B line [--usdt-file-activation] [-p PID] [-c CMD]
//          (SCRIPT | -e PROGRAM) [extra args...]
// bpftrace parses options after the script too (GNU getopt), and positional
// parameters ($1..) must follow it, so extra args go last.
std::vector<std::string> build_bpftrace_argv(const SourceOptions& options, const std::string& bpftrace_path);

// CapEff from /proc/self/status text has CAP_SYS_ADMIN or CAP_BPF.
bool has_bpf_capabilities(std::string_view proc_status_text);
// The script names a tracepoint probe (tracepoint:... or t:...), which needs tracefs.
bool script_uses_tracepoints(std::string_view script_text);
// /sys/kernel/tracing/events or /sys/kernel/debug/tracing/events under `sys_root`.
bool tracefs_available(const std::string& sys_root = "/sys");
// Field 22 of /proc/PID/stat: tells a PID from a later process reusing it.
std::optional<unsigned long long> process_start_time(int pid);

enum class FailureKind {
  kPrivileges,
  kScriptError,
  kScriptNotFound,
  kProbeNotFound,
  kTracefsMissing,
  kNoSuchProcess,
  kCommandNotFound,
  kUnknown,
};

struct FailureDiagnosis {
  FailureKind kind = FailureKind::kUnknown;
  std::string message;  // hint + bpftrace's own lines, quoted + how it ended
};

// `output`: bpftrace's last stderr lines and non-JSON stdout lines, in order.
FailureDiagnosis diagnose_failure(const std::vector<std::string>& output, int wait_status, bool tracefs_present);

// True for stderr lines that are noise on every run (the RLIMIT_MEMLOCK warning).
bool is_harmless_bpftrace_message(std::string_view line);

}  // namespace bto
