#pragma once
// Why bpftrace failed to start, from what it printed: an actionable message
// for the user. Known messages are rows of one table (kKnownMessages in
// bpftrace_diagnosis.cpp), each with the bpftrace versions known to print it;
// a message of another version is one more row. Verified against bpftrace 0.17
// (tests/source/bpftrace_diagnosis_test.cpp quotes its output verbatim).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/bpftrace_version.h"

namespace bto {

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
// `version`: the bpftrace that printed them; unknown: every row applies.
FailureDiagnosis diagnose_failure(const std::vector<std::string>& output, int wait_status, bool tracefs_present,
                                  std::optional<BpftraceVersion> version = std::nullopt);

// True for stderr lines that are noise on every run (the RLIMIT_MEMLOCK warning).
bool is_harmless_bpftrace_message(std::string_view line);

// bpftrace prints each diagnostic as a header line ("file:1:2-3: WARNING: ..."
// or "ERROR: ...") followed by context lines (the script line, "~~~~"). The
// kind of block `line` starts, or nullopt for a context line. bpftrace 0.26+
// print many compile warnings: they must not crowd out the error.
enum class MessageBlock { kWarning, kError };
std::optional<MessageBlock> block_started_by(std::string_view line);

// Appends "; bpftrace said:" and `lines`, one per line, quoted; nothing when empty.
void append_bpftrace_said(std::string& message, const std::vector<std::string>& lines);

}  // namespace bto
