#pragma once
// What the source does with bpftrace's output lines before the decoder sees
// them: stdout lines that are not JSON objects are bpftrace's own messages
// (logged, counted, kept for diagnosis, never passed on); stderr lines are
// logged unless harmless. The last messages are kept for the diagnosis of a
// failed start.

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "source/bpftrace_process.h"
#include "source/line_reader.h"

namespace bto {

// bpftrace's last messages (stderr and non-JSON stdout), for diagnosis: the
// last kKeptLines lines, and apart from them the last kKeptWarningLines lines
// of warning blocks, so that a flood of compile warnings (bpftrace 0.26+)
// cannot push the error out.
class OutputRing {
 public:
  static constexpr size_t kKeptLines = 20;
  static constexpr size_t kKeptWarningLines = 12;

  void add(std::string_view line);
  std::vector<std::string> lines() const;
  void clear() {
    lines_.clear();
    warning_lines_ = 0;
    in_warning_ = false;
  }

 private:
  struct Kept {
    std::string line;
    bool warning;
  };
  std::deque<Kept> lines_;
  size_t warning_lines_ = 0;
  bool in_warning_ = false;  // the last header seen started a warning block
};

// bpftrace's stdout: JSON objects go on to `next`, other lines to the ring.
// Notices the attached_probes record ([telemetry] readiness).
class StdoutFilter final : public LineHandler {
 public:
  StdoutFilter(LineHandler& next, SourceStats& stats, OutputRing& ring, RateLimitedLog& log)
      : next_(next), stats_(stats), ring_(ring), log_(log) {}

  void on_line(std::string_view line) override;
  void on_oversized_line(std::string_view prefix, size_t length) override;
  bool attached() const noexcept { return attached_; }

 private:
  LineHandler& next_;
  SourceStats& stats_;
  OutputRing& ring_;
  RateLimitedLog& log_;
  bool attached_ = false;
};

// bpftrace's stderr: logged (rate-limited) and kept, except harmless noise.
// With a -c command, the command's stderr arrives here too once it runs
// (after attached_probes): from then on lines are copied to `passthrough`
// (the command's destination) as they are, not logged as bpftrace's.
class StderrSink final : public LineHandler {
 public:
  StderrSink(SourceStats& stats, OutputRing& ring, RateLimitedLog& log, int passthrough = -1,
             const StdoutFilter* events = nullptr)
      : stats_(stats), ring_(ring), log_(log), passthrough_(passthrough), events_(events) {}

  void on_line(std::string_view line) override;
  void on_oversized_line(std::string_view prefix, size_t length) override;

 private:
  bool passing_through() const noexcept { return passthrough_ >= 0 && events_ != nullptr && events_->attached(); }
  void pass_through(std::string_view text) const;

  SourceStats& stats_;
  OutputRing& ring_;
  RateLimitedLog& log_;
  int passthrough_;
  const StdoutFilter* events_;
};

}  // namespace bto
