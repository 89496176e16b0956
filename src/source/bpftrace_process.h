#pragma once
// Stage 0: runs bpftrace (`bpftrace -f json -B line ...`) by argv, never
// through a shell, feeds its stdout lines to a LineHandler, forwards its
// stderr to our log, restarts it when it dies while the target lives, and
// stops it gracefully (SIGINT, then SIGTERM, then SIGKILL).
//
// How the app drives it:
//
//   SourceStats stats;
//   auto source = create_bpftrace_source(options, stats);
//   source->check();                       // pre-flight; throws StartupError
//   // SIGINT/SIGTERM handler (or signal thread): source->request_stop();
//   SourceResult r = source->run(line_handler, [&] { periodic work; });
//   if (r.end == SourceEnd::kFailed) throw StartupError(r.message);
//   // flush the pipeline, print a summary with stats.restarts etc.
//
// run() blocks: call it on the reader thread (the one that decodes, never
// waits for export) or on the main thread. It spawns bpftrace, so that thread
// must live until run() returns (PR_SET_PDEATHSIG is per thread). One run()
// per source. bpftrace's stderr is read in the same poll loop as its stdout
// (no extra thread, nothing to join when a -c command keeps the pipe open).
// Do not set SIGCHLD to SIG_IGN: exit statuses would be lost.
//
// stdout lines that do not start with '{' are bpftrace's own messages (e.g.
// "No probes to attach"), not events: they are logged, counted in
// SourceStats::message_lines and kept for diagnosis, never passed on.
// With `command` (-c), the target is not trusted (issue 17.3): bpftrace writes
// its events to its descriptor 3 (`-o /dev/fd/3`), so the target's stdout is
// never decoded; the target's stdout and stderr go where `command_output`
// says (ours by default). The target's stderr reaches us through bpftrace's
// stderr: after attached_probes it is passed through there, not logged as
// bpftrace's. Both get our environment minus the exporter credentials.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source/bpftrace_version.h"
#include "source/line_reader.h"

namespace bto {

struct SourceOptions {
  enum class RestartPolicy { kOnFailure, kNever };

  std::string bpftrace_path = "bpftrace";  // looked up in PATH when it has no '/'
  // From `bpftrace --version` (nullopt: unknown): what bpftrace prints, how it
  // fails and what it forgets to count differ by version (docs/compatibility.md).
  std::optional<BpftraceVersion> bpftrace_version;
  std::string script_path;                 // either this ...
  std::string program_text;                // ... or this (-e)
  int target_pid = 0;                      // 0: probes attach system-wide
  // "usdt": probes defined at run time (libstapsdt): they exist only in the
  // target's memory, so bpftrace needs -p. "native-usdt": probes compiled into
  // the binary (sys/sdt.h); without a PID bpftrace attaches to every process
  // running the binary and gets --usdt-file-activation so semaphore-guarded
  // probes fire too.
  std::string mode = "usdt";
  std::vector<std::string> extra_args;  // after the script: bpftrace options or positional $1..
  std::string command;                  // -c: one argv element; bpftrace itself splits it at spaces
  // Where the -c command's stdout and stderr go: "" = our own stdout and
  // stderr, else a file path (appended, created 0600; "/dev/null" to discard).
  std::string command_output;
  RestartPolicy restart = RestartPolicy::kOnFailure;
  std::chrono::milliseconds initial_restart_backoff{1000};
  std::chrono::milliseconds max_restart_backoff{30000};
  int max_restarts = 0;                        // 0: unlimited
  std::chrono::milliseconds stop_grace{3000};  // SIGINT -> SIGTERM
  std::chrono::milliseconds term_grace{1000};  // SIGTERM -> SIGKILL
  size_t max_line_bytes = 1 << 20;
  size_t read_chunk_bytes = 1 << 20;
  // Fewer wakeups at moderate event rates: after a wakeup that read less than
  // coalesce_below_bytes (and less than a quarter of the pipe), wait this long
  // before polling again while the pipe buffers (a stop request ends the
  // wait). A wakeup costs more than decoding a few events, and spans are
  // batched for seconds anyway; events without a timestamp of their own are
  // stamped up to this much late. 0 disables (docs/performance.md, "Live").
  std::chrono::microseconds read_coalesce{10000};
  // The wait while every event has carried its own timestamp (then nothing is
  // stamped late): longer, fewer wake-ups. `arrival_times_used` (set by the
  // correlator; null: always read_coalesce) says when that stops being true.
  // --read-coalesce sets both waits.
  std::chrono::microseconds read_coalesce_timestamped{50000};
  const std::atomic<bool>* arrival_times_used = nullptr;
  size_t coalesce_below_bytes = 256 * 1024;
  // bpftrace's stdout pipe is enlarged to this (F_SETPIPE_SZ, best effort), so
  // that a burst during the wait fills our pipe, not bpftrace's event buffers.
  size_t pipe_bytes = 1 << 20;
};

// Written by run(); readable from any thread.
struct SourceStats {
  std::atomic<uint64_t> starts{0};    // bpftrace processes spawned
  std::atomic<uint64_t> restarts{0};  // of which restarts after a failure
  std::atomic<uint64_t> stdout_bytes{0};
  std::atomic<uint64_t> stdout_lines{0};   // lines passed to the handler
  std::atomic<uint64_t> message_lines{0};  // non-JSON stdout lines (logged instead)
  std::atomic<uint64_t> stderr_lines{0};
  std::atomic<uint64_t> oversized_lines{0};
  // Events lost that bpftrace did not report (ring_buffer_monitor.h): those
  // of the CPU its loss counter forgets (0.24+), and those its ring buffer
  // still held when it exited (it stops reading on SIGINT).
  std::atomic<uint64_t> lost_unreported{0};
  std::atomic<uint64_t> lost_at_exit{0};
  std::atomic<int> last_exit_code{-1};  // exit code, or 128 + signal
  std::atomic<bool> attached{false};    // [telemetry] a bpftrace runs and printed attached_probes
};

enum class SourceEnd {
  kTargetExited,    // the target process is gone (or bpftrace -c's command ended)
  kBpftraceExited,  // bpftrace ended by itself with status 0 (the script called exit())
  kStopped,         // request_stop()
  kFailed,          // failed to start, or died and may not be restarted
};

struct SourceResult {
  SourceEnd end = SourceEnd::kFailed;
  int bpftrace_exit_code = -1;  // of the last bpftrace run: exit code or 128 + signal; -1: none ran
  std::string message;          // kFailed: what went wrong and how to fix it, quoting bpftrace
};

class BpftraceSource {
 public:
  virtual ~BpftraceSource() = default;

  // Pre-flight checks: bpftrace found, privileges, tracefs when the script
  // uses tracepoints, script readable, target PID exists. Throws StartupError
  // with an actionable message.
  virtual void check() = 0;

  // Runs bpftrace until it ends for good, restarting it per the policy.
  // Every complete stdout line goes to `lines` (the view is valid during the
  // call, with kLinePadding readable bytes after it). `tick` runs at least
  // every `tick_interval`, also while waiting to restart or to stop. On stop,
  // output printed while bpftrace exits (maps) is still delivered.
  // Does not throw for bpftrace failures: they come back as kFailed.
  virtual SourceResult run(LineHandler& lines, const std::function<void()>& tick = {},
                           std::chrono::milliseconds tick_interval = std::chrono::milliseconds(100)) = 0;

  // Thread-safe and async-signal-safe: run() stops bpftrace gracefully and
  // returns kStopped. Before run(), makes run() return at once.
  virtual void request_stop() noexcept = 0;

  // The running bpftrace's PID, 0 when none runs.
  virtual int bpftrace_pid() const noexcept = 0;
};

std::unique_ptr<BpftraceSource> create_bpftrace_source(const SourceOptions& options, SourceStats& stats);

}  // namespace bto
