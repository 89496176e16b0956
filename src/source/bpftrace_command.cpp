#include "source/bpftrace_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/log.h"
#include "source/child_process.h"

namespace bto {
namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapBpf = 39;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

bool any_line(const std::vector<std::string>& lines, std::string_view needle) {
  for (const auto& line : lines) {
    if (contains(line, needle)) return true;
  }
  return false;
}

// "file:1:22-23: ERROR: ..." is how bpftrace reports a problem at a place in
// the script (parse, semantic and probe-name errors alike).
bool is_located_error(std::string_view line) {
  const size_t error = line.find(": ERROR: ");
  if (error == std::string_view::npos) return false;
  std::string_view location = line.substr(0, error);  // "file:1:22-23"
  // Walk back over "-23", ":22", ":1"; the rest is the file name.
  auto strip_number = [&location](char separator) {
    size_t digits = 0;
    const auto digit_at = [&location](size_t from_end) {
      return std::isdigit(static_cast<unsigned char>(location[location.size() - 1 - from_end])) != 0;
    };
    while (digits < location.size() && digit_at(digits)) ++digits;
    if (digits == 0 || digits == location.size() || location[location.size() - 1 - digits] != separator) return false;
    location.remove_suffix(digits + 1);
    return true;
  };
  const std::string_view before_range = location;
  if (!strip_number('-')) location = before_range;
  return strip_number(':') && strip_number(':') && !location.empty() &&
         location.find_first_of(" \t") == std::string_view::npos;
}

bool has_located_error(const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    if (is_located_error(line)) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> find_executable(std::string_view name, std::string_view path_env) {
  if (name.empty()) return std::nullopt;
  if (contains(name, "/")) {
    std::string path(name);
    if (is_executable_file(path)) return path;
    return std::nullopt;
  }
  size_t begin = 0;
  while (begin <= path_env.size()) {
    size_t end = path_env.find(':', begin);
    if (end == std::string_view::npos) end = path_env.size();
    std::string_view dir = path_env.substr(begin, end - begin);
    if (dir.empty()) dir = ".";  // POSIX: an empty entry is the current directory
    std::string candidate = fmt::format("{}/{}", dir, name);
    if (is_executable_file(candidate)) return candidate;
    begin = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string> build_bpftrace_argv(const SourceOptions& options, const std::string& bpftrace_path) {
  std::vector<std::string> argv{bpftrace_path, "-f", "json",
                                // bpftrace's JSON output already ends each record with
                                // std::endl (one write per event); "line" keeps it so
                                // and "none" would split records into several writes.
                                "-B", "line"};
  if (options.mode == "native-usdt" && options.target_pid == 0 && options.command.empty()) {
    argv.emplace_back("--usdt-file-activation");
  }
  if (options.target_pid != 0) {
    argv.emplace_back("-p");
    argv.push_back(std::to_string(options.target_pid));
  }
  if (!options.command.empty()) {
    argv.emplace_back("-c");
    argv.push_back(options.command);
  }
  if (!options.program_text.empty()) {
    argv.emplace_back("-e");
    argv.push_back(options.program_text);
  } else {
    argv.push_back(options.script_path);
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}

bool has_bpf_capabilities(std::string_view proc_status_text) {
  const size_t at = proc_status_text.find("CapEff:");
  if (at == std::string_view::npos) return false;
  const std::string value(proc_status_text.substr(at + 7, 40));
  uint64_t caps = 0;
  try {
    caps = std::stoull(value, nullptr, 16);
  } catch (const std::exception&) {
    return false;
  }
  return ((caps >> kCapSysAdmin) & 1U) != 0 || ((caps >> kCapBpf) & 1U) != 0;
}

bool script_uses_tracepoints(std::string_view script_text) {
  // A probe starts a line or follows ',' / '}' / whitespace: good enough to
  // decide whether to insist on tracefs before bpftrace says so itself.
  // // comments are skipped so a commented-out tracepoint does not count.
  bool in_comment = false;
  for (size_t i = 0; i < script_text.size(); ++i) {
    const char c = script_text[i];
    if (c == '\n') {
      in_comment = false;
      continue;
    }
    if (in_comment) continue;
    if (c == '/' && i + 1 < script_text.size() && script_text[i + 1] == '/') {
      in_comment = true;
      continue;
    }
    const bool at_probe_start =
        i == 0 || std::isspace(static_cast<unsigned char>(script_text[i - 1])) || script_text[i - 1] == ',' ||
        script_text[i - 1] == '}';
    if (!at_probe_start) continue;
    for (std::string_view kind : {"tracepoint:", "t:"}) {
      const std::string_view rest = script_text.substr(i);
      if (!rest.starts_with(kind) || rest.size() <= kind.size()) continue;
      const char next = rest[kind.size()];
      if (std::isalpha(static_cast<unsigned char>(next)) || next == '_' || next == '*') return true;
    }
  }
  return false;
}

bool tracefs_available(const std::string& sys_root) {
  struct stat st {};
  for (const char* dir : {"/kernel/tracing/events", "/kernel/debug/tracing/events"}) {
    if (::stat((sys_root + dir).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
  }
  return false;
}

std::optional<unsigned long long> process_start_time(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!in || !std::getline(in, stat)) return std::nullopt;
  // comm (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool is_harmless_bpftrace_message(std::string_view line) {
  // Printed on every start by bpftrace 0.17 on kernels that account BPF
  // memory to cgroups (5.11+), where RLIMIT_MEMLOCK no longer matters.
  return contains(line, "couldn't set RLIMIT_MEMLOCK");
}

FailureDiagnosis diagnose_failure(const std::vector<std::string>& output, int wait_status, bool tracefs_present) {
  std::vector<std::string> lines;
  for (const auto& line : output) {
    if (!is_harmless_bpftrace_message(line)) lines.push_back(line);
  }
  FailureDiagnosis d;
  std::string hint;
  if (any_line(lines, "only supports running as the root user") || any_line(lines, "Operation not permitted") ||
      any_line(lines, "Permission denied")) {
    d.kind = FailureKind::kPrivileges;
    hint =
        "insufficient privileges for bpftrace: run as root (sudo), or in a container with "
        "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (uprobes/USDT need CAP_SYS_ADMIN on current "
        "kernels) plus CAP_SYS_PTRACE for another container's process; see docs/deployment.md";
  } else if (any_line(lines, "Read-only file system") ||
             (any_line(lines, "cannot attach uprobe") && any_line(lines, "Invalid argument"))) {
    // What a kernel that requires CAP_SYS_ADMIN for uprobes says when it is missing.
    d.kind = FailureKind::kPrivileges;
    hint =
        "bpftrace could not attach a uprobe/USDT probe: on current kernels that needs "
        "CAP_SYS_ADMIN (CAP_BPF + CAP_PERFMON are not enough); see docs/deployment.md";
  } else if (any_line(lines, "failed to initialize usdt context")) {
    // bpftrace reads the target's /proc/PID/{exe,maps}: ptrace access mode.
    d.kind = FailureKind::kPrivileges;
    hint =
        "bpftrace could not read the target process to find its USDT probes: that needs "
        "CAP_SYS_PTRACE (and the same PID namespace); see docs/deployment.md";
  } else if (any_line(lines, "tracepoint not found") && !tracefs_present) {
    d.kind = FailureKind::kTracefsMissing;
    hint = "tracefs is not mounted, so tracepoints cannot be found: mount -t tracefs nodev /sys/kernel/tracing";
  } else if (any_line(lines, "Failed to fork child")) {
    d.kind = FailureKind::kCommandNotFound;
    hint = "bpftrace could not start the command given with -c";
  } else if (any_line(lines, "No such process")) {
    d.kind = FailureKind::kNoSuchProcess;
    hint = "the target process does not exist (any more): check --pid / TARGET_PID";
  } else if (any_line(lines, "failed to open file")) {
    d.kind = FailureKind::kScriptNotFound;
    hint = "bpftrace could not read the script: check --script / BPF_SCRIPT";
  } else if (any_line(lines, "No probes to attach") || any_line(lines, "tracepoint not found") ||
             any_line(lines, "does not exist or is not executable") || any_line(lines, "Could not resolve symbol") ||
             any_line(lines, "Error attaching probe") || any_line(lines, "probe not found")) {
    d.kind = FailureKind::kProbeNotFound;
    hint =
        "a probe of the script was not found in the target: check the binary path and probe names "
        "(list them with `bpftrace -l 'usdt:/path/to/binary:*'`, add -p PID for probes defined at run time)";
  } else if (has_located_error(lines)) {
    d.kind = FailureKind::kScriptError;
    hint = "bpftrace could not compile the script";
  } else {
    d.kind = FailureKind::kUnknown;
    hint = "bpftrace failed before tracing started";
  }
  d.message = fmt::format("{} (bpftrace {})", hint, describe_wait_status(wait_status));
  if (lines.empty()) {
    d.message += "; bpftrace printed nothing";
  } else {
    d.message += "; bpftrace said:";
    for (const auto& line : lines) {
      d.message += "\n  ";
      d.message += quote_bytes(line, 400);
    }
  }
  return d;
}

}  // namespace bto
