#pragma once
// How bpftrace is found and invoked (pure functions). Pre-flight checks are in
// startup_checks.h, the diagnosis of a failed start in bpftrace_diagnosis.h.

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

// Where bpftrace writes its events with -c (our pipe, its descriptor 3; see
// SpawnOptions::stdout_passthrough).
inline constexpr const char* kEventsPath = "/dev/fd/3";

// An argv as one line for logs and --print-config, secrets redacted
// (common/redact.h), the -c command split the way bpftrace splits it.
std::string describe_bpftrace_argv(const std::vector<std::string>& argv);
// The -c command, redacted, word by word as bpftrace runs it.
std::string describe_command(std::string_view command);

}  // namespace bto
