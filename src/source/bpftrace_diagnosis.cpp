#include "source/bpftrace_diagnosis.h"

#include <cctype>

#include <fmt/format.h>

#include "common/log.h"
#include "source/child_process.h"

namespace bto {
namespace {

constexpr BpftraceVersions kSince017{{0, 17}, std::nullopt};

constexpr std::string_view kRootHint =
    "insufficient privileges for bpftrace: run as root (sudo), or in a container with "
    "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (uprobes/USDT need CAP_SYS_ADMIN on current "
    "kernels) plus CAP_SYS_PTRACE for another container's process; see docs/deployment.md";
constexpr std::string_view kUprobeCapHint =
    "bpftrace could not attach a uprobe/USDT probe: on current kernels that needs "
    "CAP_SYS_ADMIN (CAP_BPF + CAP_PERFMON are not enough); see docs/deployment.md";
constexpr std::string_view kPtraceHint =
    "bpftrace could not read the target process to find its USDT probes: that needs "
    "CAP_SYS_PTRACE (and the same PID namespace); see docs/deployment.md";
constexpr std::string_view kTracefsHint =
    "tracefs is not mounted, so tracepoints cannot be found: mount -t tracefs nodev /sys/kernel/tracing";
constexpr std::string_view kProbeHint =
    "a probe of the script was not found in the target: check the binary path and probe names "
    "(list them with `bpftrace -l 'usdt:/path/to/binary:*'`, add -p PID for probes defined at run time)";
constexpr std::string_view kUsdtArgumentHint =
    "a USDT probe of the script was not found in the target (bpftrace cannot read the arguments of a probe that "
    "is not there), or it has fewer arguments than the script reads: check the binary path and probe names "
    "(list them with `bpftrace -l 'usdt:/path/to/binary:*'`, add -p PID for probes defined at run time)";
constexpr std::string_view kCapabilityHint =
    "bpftrace lacks a capability (named in its message below): add it (cap_add) or run as root. bpftrace 0.25+ "
    "run as non-root with CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) plus CAP_DAC_READ_SEARCH and "
    "CAP_DAC_OVERRIDE, and CAP_SYS_PTRACE for another container's process; see docs/deployment.md";
constexpr std::string_view kMemsetHint =
    "bpftrace could not build its BPF program with the privileges it has: CAP_PERFMON (or CAP_SYS_ADMIN) is "
    "missing besides CAP_BPF (bpftrace 0.23 reports this as an unsupported 'memset'); see docs/deployment.md";
constexpr BpftraceVersions kSince025{{0, 25}, std::nullopt};
constexpr BpftraceVersions kBefore025{{0, 17}, BpftraceVersion{0, 24}};

// One message bpftrace prints when it fails to start, and what it means.
struct KnownMessage {
  std::string_view text;       // some line contains this ...
  std::string_view also = {};  // ... and, when set, some line contains this too
  FailureKind kind = FailureKind::kUnknown;
  std::string_view hint;
  BpftraceVersions versions = kSince017;  // the bpftrace versions known to print it
  bool only_without_tracefs = false;
};

// In order of precedence: the first row that matches decides. Privilege
// problems come first because they make bpftrace report other symptoms too.
constexpr KnownMessage kKnownMessages[] = {
    {.text = "only supports running as the root user", .kind = FailureKind::kPrivileges, .hint = kRootHint},
    {.text = "Operation not permitted", .kind = FailureKind::kPrivileges, .hint = kRootHint},
    {.text = "Permission denied", .kind = FailureKind::kPrivileges, .hint = kRootHint},
    // What a kernel that requires CAP_SYS_ADMIN for uprobes says when it is missing.
    {.text = "Read-only file system", .kind = FailureKind::kPrivileges, .hint = kUprobeCapHint},
    {.text = "cannot attach uprobe", .also = "Invalid argument", .kind = FailureKind::kPrivileges,
     .hint = kUprobeCapHint},
    // 0.25+ check their capabilities first: "Missing CAP_PERFMON capability, please run bpftrace as the root user."
    {.text = "Missing CAP_", .kind = FailureKind::kPrivileges, .hint = kCapabilityHint, .versions = kSince025},
    // 0.23 with CAP_BPF but neither CAP_PERFMON nor CAP_SYS_ADMIN.
    {.text = "built-in function 'memset' is not supported", .kind = FailureKind::kPrivileges, .hint = kMemsetHint,
     .versions = {{0, 21}, BpftraceVersion{0, 24}}},
    // bpftrace reads the target's /proc/PID/{exe,maps}: ptrace access mode.
    {.text = "failed to initialize usdt context", .kind = FailureKind::kPrivileges, .hint = kPtraceHint},
    {.text = "tracepoint not found", .kind = FailureKind::kTracefsMissing, .hint = kTracefsHint,
     .only_without_tracefs = true},
    // 0.25+ without tracefs: "Failed to open kernel function info: Error reading events from
    // /sys/kernel/tracing/available_events", or "No matches for tracepoint ...".
    {.text = "Failed to open kernel function info", .kind = FailureKind::kTracefsMissing, .hint = kTracefsHint,
     .versions = kSince025},
    {.text = "No matches for tracepoint", .kind = FailureKind::kTracefsMissing, .hint = kTracefsHint,
     .versions = kSince025, .only_without_tracefs = true},
    {.text = "Failed to fork child", .kind = FailureKind::kCommandNotFound,
     .hint = "bpftrace could not start the command given with -c"},
    {.text = "No such process", .kind = FailureKind::kNoSuchProcess,
     .hint = "the target process does not exist (any more): check --pid / TARGET_PID"},
    {.text = "failed to open file", .kind = FailureKind::kScriptNotFound,
     .hint = "bpftrace could not read the script: check --script / BPF_SCRIPT"},
    {.text = "No probes to attach", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint},
    // 0.23, a USDT probe missing from the binary without -p: "ERROR: Failed to
    // compile: Failed to find usdt probe: usdt:/path:provider:name".
    {.text = "Failed to find usdt probe", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint},
    // A missing USDT probe whose arguments the script reads (0.17-0.24).
    {.text = "couldn't get argument", .kind = FailureKind::kProbeNotFound, .hint = kUsdtArgumentHint,
     .versions = kBefore025},
    // 0.25+: "Probe has no valid attach points" (usdt with -p), "No matches for usdt|uprobe|tracepoint ...".
    {.text = "Probe has no valid attach points", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint,
     .versions = kSince025},
    {.text = "No matches for ", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint, .versions = kSince025},
    {.text = "tracepoint not found", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint},
    {.text = "does not exist or is not executable", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint},
    {.text = "Could not resolve symbol", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint},
    {.text = "Error attaching probe", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint},
    {.text = "probe not found", .kind = FailureKind::kProbeNotFound, .hint = kProbeHint},
};
// After the table: a located error ("file:1:22-23: ERROR: ...") is a script
// error; anything else is unknown.

// Noise bpftrace prints on every run: left out of diagnoses, logged at debug level.
constexpr std::string_view kHarmlessMessages[] = {
    // Printed on every start by bpftrace 0.17 on kernels that account BPF
    // memory to cgroups (5.11+), where RLIMIT_MEMLOCK no longer matters.
    "couldn't set RLIMIT_MEMLOCK",
};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool any_line(const std::vector<std::string>& lines, std::string_view needle) {
  for (const auto& line : lines) {
    if (contains(line, needle)) return true;
  }
  return false;
}

bool applies(const BpftraceVersions& versions, std::optional<BpftraceVersion> version) {
  return !version || versions.contain(*version);
}

const KnownMessage* find_known_message(const std::vector<std::string>& lines, bool tracefs_present,
                                       std::optional<BpftraceVersion> version) {
  for (const KnownMessage& row : kKnownMessages) {
    if (!applies(row.versions, version) || (row.only_without_tracefs && tracefs_present)) continue;
    if (any_line(lines, row.text) && (row.also.empty() || any_line(lines, row.also))) return &row;
  }
  return nullptr;
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

// `lines` without their warning blocks when something else remains (the
// error); `left_out` counts the lines taken away.
std::vector<std::string> without_warnings(const std::vector<std::string>& lines, size_t& left_out) {
  std::vector<std::string> kept;
  bool in_warning = false;
  for (const auto& line : lines) {
    if (const auto block = block_started_by(line)) in_warning = *block == MessageBlock::kWarning;
    if (!in_warning) kept.push_back(line);
  }
  left_out = kept.empty() ? 0 : lines.size() - kept.size();
  return kept.empty() ? lines : kept;
}

}  // namespace

std::optional<MessageBlock> block_started_by(std::string_view line) {
  // "WARNING: x", "stdin:1:2-3: WARNING: x"; "ERROR: x", "file:1:2: ERROR: x",
  // "error: <unknown>:0:0: ..." (LLVM).
  const auto header = [line](std::string_view tag) {
    const size_t at = line.find(tag);
    return at != std::string_view::npos && (at == 0 || (at >= 2 && line.substr(at - 2, 2) == ": "));
  };
  if (header("WARNING: ")) return MessageBlock::kWarning;
  if (header("ERROR: ") || line.starts_with("error: ")) return MessageBlock::kError;
  return std::nullopt;
}

bool is_harmless_bpftrace_message(std::string_view line) {
  for (const std::string_view text : kHarmlessMessages) {
    if (contains(line, text)) return true;
  }
  return false;
}

void append_bpftrace_said(std::string& message, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  message += "; bpftrace said:";
  for (const auto& line : lines) {
    message += "\n  ";
    message += quote_bytes(line, 400);
  }
}

FailureDiagnosis diagnose_failure(const std::vector<std::string>& output, int wait_status, bool tracefs_present,
                                  std::optional<BpftraceVersion> version) {
  std::vector<std::string> all;
  for (const auto& line : output) {
    if (!is_harmless_bpftrace_message(line)) all.push_back(line);
  }
  size_t warnings_left_out = 0;
  const std::vector<std::string> lines = without_warnings(all, warnings_left_out);
  FailureDiagnosis d;
  std::string_view hint;
  if (const KnownMessage* known = find_known_message(lines, tracefs_present, version)) {
    d.kind = known->kind;
    hint = known->hint;
  } else if (has_located_error(lines)) {
    d.kind = FailureKind::kScriptError;
    hint = "bpftrace could not compile the script";
  } else {
    d.kind = FailureKind::kUnknown;
    hint = "bpftrace failed before tracing started";
  }
  d.message = fmt::format("{} (bpftrace {})", hint, describe_wait_status(wait_status));
  if (lines.empty()) d.message += "; bpftrace printed nothing";
  append_bpftrace_said(d.message, lines);
  if (warnings_left_out > 0) {
    d.message += fmt::format("\n  ({} lines of bpftrace warnings left out; they are in the log above)", warnings_left_out);
  }
  return d;
}

}  // namespace bto
