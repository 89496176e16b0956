#pragma once
// The periodic one-line status for the log: rates since the previous line
// and what went wrong meanwhile. The app calls next() every
// --status-interval from the reader thread's tick; time is passed in so
// tests control it.
//
//   status: lines=1200.0/s events=1180.0/s exported=590.0/s queue=12 open=31
//           dropped=+0 lost=+0 malformed=+0 export_failures=+0 restarts=+0

#include <chrono>
#include <cstdint>
#include <string>

#include "telemetry/pipeline_stats.h"

namespace bto {

class StatusLine {
 public:
  StatusLine(const PipelineStats& stats, std::chrono::steady_clock::time_point now);

  // One line covering the time since the previous call (or construction).
  std::string next(std::chrono::steady_clock::time_point now);

 private:
  struct Snapshot {
    uint64_t lines = 0;
    uint64_t events = 0;
    uint64_t exported = 0;
    uint64_t dropped = 0;
    uint64_t lost = 0;
    uint64_t malformed = 0;
    uint64_t export_failures = 0;
    uint64_t restarts = 0;
  };
  Snapshot take() const;

  const PipelineStats& stats_;
  Snapshot last_;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace bto
