#include "source/startup_checks.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "source/bpftrace_command.h"

namespace bto {
namespace {

constexpr int kCapDacOverride = 1;
constexpr int kCapDacReadSearch = 2;
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void check_options(const SourceOptions& options) {
  if (options.script_path.empty() == options.program_text.empty()) {
    throw StartupError(options.script_path.empty() ? "no bpftrace script: pass --script PATH (or set BPF_SCRIPT)"
                                                   : "give either a script file or a program text, not both");
  }
  if (options.mode != "usdt" && options.mode != "native-usdt") {
    throw StartupError(fmt::format("unknown mode '{}': use usdt or native-usdt (--mode / EXPORTER_MODE)",
                                   quote_bytes(options.mode)));
  }
  if (options.target_pid < 0) {
    throw StartupError(fmt::format("invalid target PID {}", options.target_pid));
  }
  if (options.target_pid != 0 && !options.command.empty()) {
    throw StartupError("--pid and -c cannot be used together: -c starts the target itself");
  }
}

std::string resolve_bpftrace(const SourceOptions& options) {
  const char* path_env = std::getenv("PATH");
  auto resolved = find_executable(options.bpftrace_path, path_env != nullptr ? path_env : kDefaultPath);
  if (resolved) return *resolved;
  if (options.bpftrace_path.find('/') != std::string::npos) {
    throw StartupError(fmt::format("bpftrace not found at {} (not an executable file): fix --bpftrace PATH, or "
                                   "install bpftrace with `apt-get install bpftrace` and drop --bpftrace",
                                   options.bpftrace_path));
  }
  throw StartupError("bpftrace not found: install it with `apt-get install bpftrace` or pass --bpftrace PATH");
}

void check_privileges() {
  bool ok = false;
  const std::string status = read_file("/proc/self/status", ok);
  if (ok && !has_bpf_capabilities(status)) {
    throw StartupError(
        ::geteuid() == 0
            ? "insufficient privileges: running as root but without CAP_SYS_ADMIN or CAP_BPF (a restricted "
              "container?): run the container privileged or add cap_add: [SYS_ADMIN] (or BPF, PERFMON)"
            : "insufficient privileges: bpftrace needs root: run with sudo (or as root in the container)");
  }
}

// Once the target is known: every capability bpftrace will miss, in one message.
void check_capabilities_for(const SourceOptions& options, std::string_view script_text) {
  bool ok = false;
  const std::string status = read_file("/proc/self/status", ok);
  CapabilityFacts facts;
  facts.effective = effective_capabilities(status).value_or(~uint64_t{0});
  facts.non_root = ::geteuid() != 0;
  if (options.target_pid != 0) {
    // bpftrace reads the target's /proc/PID/{exe,maps} to find its probes
    // (ptrace access, as we have it): every version fails without it.
    char exe[4096];
    const std::string link = fmt::format("/proc/{}/exe", options.target_pid);
    facts.target_unreadable = script_uses_user_probes(script_text) && ::readlink(link.c_str(), exe, sizeof exe) < 0 &&
                              (errno == EACCES || errno == EPERM);
    facts.target_unsignalable = ::kill(options.target_pid, 0) != 0 && errno == EPERM;
  }
  const auto missing = missing_capabilities(facts, traits_of(options.bpftrace_version));
  if (missing.empty()) return;
  std::string names;
  std::string whys;
  for (const MissingCapability& m : missing) {
    names += (names.empty() ? "" : ", ") + m.name;
    whys += fmt::format("; {}: {}", m.name, m.why);
  }
  throw StartupError(fmt::format("insufficient privileges: bpftrace would lack {}{}. Add them (cap_add) or run as "
                                 "root with all capabilities; see docs/deployment.md",
                                 names, whys));
}

std::string script_text_of(const SourceOptions& options) {
  if (!options.program_text.empty()) return options.program_text;
  bool ok = false;
  std::string text = read_file(options.script_path, ok);
  if (!ok) {
    throw StartupError(fmt::format("cannot read bpftrace script {}: {} (check --script / BPF_SCRIPT)",
                                   options.script_path, std::strerror(errno)));
  }
  return text;
}

// False when tracefs is missing (a warning unless the script needs it).
bool check_tracefs(std::string_view script_text) {
  if (tracefs_available()) return true;
  if (script_uses_tracepoints(script_text)) {
    throw StartupError(
        "tracefs is not mounted and the script uses tracepoints: mount it with "
        "`mount -t tracefs nodev /sys/kernel/tracing` (in a container: mount /sys/kernel/tracing from the host)");
  }
  spdlog::warn("tracefs is not mounted (no /sys/kernel/tracing/events); tracepoints would not work: "
               "mount -t tracefs nodev /sys/kernel/tracing");
  return false;
}

std::optional<unsigned long long> check_target(const SourceOptions& options) {
  if (options.target_pid != 0) {
    auto start_time = process_start_time(options.target_pid);
    if (!start_time) {
      throw StartupError(fmt::format("no such process: PID {} (check --pid / TARGET_PID; in a container the "
                                     "target's PID namespace must be shared, e.g. pid: container:app)",
                                     options.target_pid));
    }
    return start_time;
  }
  if (options.mode == "usdt" && options.command.empty()) {
    spdlog::info("mode usdt without a target PID: probes defined at run time (libstapsdt) are only found with "
                 "--pid; probes compiled into a binary attach system-wide");
  }
  return std::nullopt;
}

}  // namespace

StartupFacts run_startup_checks(const SourceOptions& options) {
  check_options(options);
  StartupFacts facts;
  facts.bpftrace_path = resolve_bpftrace(options);
  check_privileges();
  const std::string script_text = script_text_of(options);
  facts.tracefs_mounted = check_tracefs(script_text);
  facts.target_start_time = check_target(options);
  check_capabilities_for(options, script_text);
  return facts;
}

std::optional<uint64_t> effective_capabilities(std::string_view proc_status_text) {
  const size_t at = proc_status_text.find("CapEff:");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string value(proc_status_text.substr(at + 7, 40));
  try {
    return std::stoull(value, nullptr, 16);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool has_bpf_capabilities(std::string_view proc_status_text) {
  const auto caps = effective_capabilities(proc_status_text);
  return caps && (((*caps >> kCapSysAdmin) & 1U) != 0 || ((*caps >> kCapBpf) & 1U) != 0);
}

std::vector<MissingCapability> missing_capabilities(const CapabilityFacts& facts, const BpftraceTraits& traits) {
  const auto has = [&facts](int cap) { return ((facts.effective >> cap) & 1U) != 0; };
  std::vector<MissingCapability> missing;
  if (facts.target_unreadable) {
    missing.push_back({"CAP_SYS_PTRACE", "to read the target process (another user's, or one with capabilities "
                                         "we lack) and find its probes"});
  }
  if (traits.liveness_by_kill && facts.target_unsignalable) {
    missing.push_back({"CAP_KILL", "bpftrace 0.25+ check that the target lives with kill(PID, 0); for another "
                                   "user's process that fails without it and bpftrace stops at once"});
  }
  if (traits.checks_capabilities_not_root && facts.non_root) {
    for (const auto& [cap, name] : {std::pair{kCapDacReadSearch, "CAP_DAC_READ_SEARCH"},
                                    std::pair{kCapDacOverride, "CAP_DAC_OVERRIDE"}}) {
      if (!has(cap)) missing.push_back({name, "bpftrace 0.25+ ask it of a non-root user (to read /sys/fs/bpf)"});
    }
    if (!has(kCapSysAdmin)) {
      if (!has(kCapBpf)) missing.push_back({"CAP_BPF", "to load BPF programs (or CAP_SYS_ADMIN)"});
      if (!has(kCapPerfmon)) missing.push_back({"CAP_PERFMON", "to attach probes (or CAP_SYS_ADMIN)"});
    }
  }
  return missing;
}

namespace {

// A probe of one of `kinds` ("tracepoint:", ...) is named in the script, its
// next character accepted by `next_ok`. A probe starts a line or follows ',' /
// '}' / whitespace: good enough to decide before bpftrace says so itself.
// // comments are skipped so a commented-out probe does not count.
template <typename NextOk>
bool script_uses(std::string_view script_text, std::initializer_list<std::string_view> kinds, NextOk next_ok) {
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
    for (std::string_view kind : kinds) {
      const std::string_view rest = script_text.substr(i);
      if (!rest.starts_with(kind) || rest.size() <= kind.size()) continue;
      if (next_ok(rest[kind.size()])) return true;
    }
  }
  return false;
}

}  // namespace

bool script_uses_tracepoints(std::string_view script_text) {
  return script_uses(script_text, {"tracepoint:", "t:"},
                     [](char next) { return std::isalpha(static_cast<unsigned char>(next)) || next == '_' || next == '*'; });
}

bool script_uses_user_probes(std::string_view script_text) {
  // usdt:$1:..., usdt::provider:name (with -p), uprobe:/path:f, u:libssl:f
  return script_uses(script_text, {"usdt:", "U:", "uprobe:", "u:", "uretprobe:", "ur:"},
                     [](char next) { return std::isspace(static_cast<unsigned char>(next)) == 0 && next != '{'; });
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

}  // namespace bto
