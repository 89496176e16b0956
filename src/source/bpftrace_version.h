#pragma once
// Which bpftrace runs: `bpftrace --version` at start-up. Output shapes,
// limits, messages and capabilities differ between versions
// (docs/compatibility.md); the version is logged, exported on /metrics and in
// the resource (bpftrace.version), and the source adapts to it.

#include <chrono>
#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace bto {

struct BpftraceVersion {
  int major = 0;
  int minor = 0;
  auto operator<=>(const BpftraceVersion&) const = default;
};

// A range of versions: from `first` on, up to `last` if bpftrace stopped
// behaving so (a message it no longer prints, a limit it raised).
struct BpftraceVersions {
  BpftraceVersion first;
  std::optional<BpftraceVersion> last;
  bool contain(BpftraceVersion version) const noexcept { return first <= version && (!last || version <= *last); }
};

struct BpftraceRelease {
  BpftraceVersion version;  // major.minor, what behaviour depends on
  std::string text;         // as printed, without the "v": "0.27.1", "0.20.2-1ubuntu1"
};

// From the first line of `bpftrace --version` ("bpftrace v0.23.2"); nullopt
// when it does not name a version.
std::optional<BpftraceRelease> parse_bpftrace_version(std::string_view output);

// Runs `bpftrace_path --version` (by argv) and parses what it prints; nullopt
// when it fails, prints no version or takes longer than `timeout`.
std::optional<BpftraceRelease> detect_bpftrace_version(const std::string& bpftrace_path,
                                                       std::chrono::milliseconds timeout);

// What depends on the version (docs/compatibility.md has the evidence).
struct BpftraceTraits {
  // 0.24+: losses of the BPF ring buffer are counted per CPU in a global
  // (.data.event_loss_counter), and bpftrace sums every CPU but the last:
  // its lost_events records miss what the highest-numbered CPU lost.
  bool loss_counter_misses_last_cpu = false;
  // 0.25+: bpftrace checks capabilities instead of uid 0 (non-root works
  // with CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH).
  bool checks_capabilities_not_root = false;
  // 0.25+: whether the -p target lives is kill(pid, 0): for a process of
  // another user that fails without CAP_KILL, and bpftrace exits at once
  // (status 0) as if the target had exited.
  bool liveness_by_kill = false;
};

BpftraceTraits traits_of(std::optional<BpftraceVersion> version);

}  // namespace bto
