#pragma once
// Helpers for the end-to-end tests: real processes started by argv (fork/exec,
// never a shell), always killed and reaped by their RAII owner, plus readers
// for the demo load generator's records and bpftrace-otel's summary line.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "support/text_file.h"

namespace bto::e2e {

using std::chrono::milliseconds;

// A child process. The destructor sends SIGTERM, waits up to 3 s, then sends
// SIGKILL and reaps it, so a failed assertion never leaks a process. The child
// also gets PR_SET_PDEATHSIG(SIGKILL) in case the test binary itself dies.
class Child {
 public:
  Child() = default;
  // stdout/stderr go to the given files ("" = /dev/null); stdin is /dev/null.
  // Environment: ours without OTEL_*, BTO_* and the seed's variables, so the
  // developer's shell cannot change what a test runs.
  static Child spawn(const std::vector<std::string>& argv, const std::string& stdout_path,
                     const std::string& stderr_path);
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig) const;
  // Waits for the exit; the raw wait status, or nullopt on timeout.
  std::optional<int> wait_for(milliseconds timeout);
  // The exit code once reaped (128 + signal for a signal death), else -1.
  int exit_code() const { return exit_code_; }

 private:
  void reap(int status);
  void terminate();

  pid_t pid_ = -1;
  bool reaped_ = true;
  int exit_code_ = -1;
};

using testing::count_of;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

// Polls `path` until it holds `needle` at least `count` times.
bool wait_for_text(const std::string& path, const std::string& needle, milliseconds timeout,
                   size_t count = 1);

// One line of `demo-loadgen --record`.
struct Record {
  uint64_t seq = 0;
  std::string route, method, uri, traceparent;
  int status = 0;
  int64_t latency_ns = 0;
  int64_t start_unix_ns = 0;  // client's wall clock when it began sending
};
std::vector<Record> read_records(const std::string& path);

// The key=value figures of the "summary: ..." line on bpftrace-otel's stderr.
// Empty when there is no summary line.
std::map<std::string, uint64_t> parse_summary(const std::string& stderr_text);

// Ports of the TCP sockets `pid` listens on (from /proc/PID/fd and /proc/PID/net/tcp).
std::vector<int> listening_ports(pid_t pid);

// The PIDs of `pid`'s children (/proc/PID/task/*/children).
std::vector<pid_t> children_of(pid_t pid);

// The bpftrace on PATH (the one bpftrace-otel runs), from `bpftrace --version`:
// {major, minor} and the text ("0.27.1"). Output, messages and capabilities
// differ between versions (docs/compatibility.md); tests that check them ask.
struct BpftraceVersionOnPath {
  int major = 0;
  int minor = 0;
  std::string text;
  bool at_least(int want_major, int want_minor) const {
    return major > want_major || (major == want_major && minor >= want_minor);
  }
};
// Runs it once per test binary; {0, 0, ""} when it prints no version.
const BpftraceVersionOnPath& bpftrace_version_on_path();

// Why the e2e tests cannot run here ("" when they can): not root, no bpftrace,
// tracefs missing and not mountable.
std::string missing_prerequisite();

}  // namespace bto::e2e
