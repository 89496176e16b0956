#pragma once
// Makes bpftrace's lost events add up (docs/compatibility.md, "Lost events"):
// counts into SourceStats what bpftrace does not report, and holds a stop
// until bpftrace has read what its ring buffer held when the stop was asked
// for, so that events already produced are delivered rather than dropped.
// Built on RingBufferMonitor; does nothing where that is not available
// (bpftrace 0.17's perf buffers report every loss themselves).
//
// One tracker per bpftrace run, on the thread that supervises it:
//   attach(pid)        once bpftrace printed attached_probes (its maps exist)
//   update()           on ticks: the unreported losses so far
//   ready_to_stop(now) before signalling a stop; false while bpftrace catches up
//   finish()           after bpftrace exited: the final counts

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/log.h"
#include "source/bpftrace_process.h"
#include "source/ring_buffer_monitor.h"

namespace bto {

class LossTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // `drain_limit`: the longest a stop waits for bpftrace to catch up.
  LossTracker(SourceStats& stats, const BpftraceTraits& traits, std::chrono::milliseconds drain_limit);

  void attach(pid_t bpftrace_pid);
  bool attached() const noexcept { return attach_tried_; }
  void update();
  bool ready_to_stop(Clock::time_point now);
  // While a stop waits: when to look again.
  std::optional<Clock::time_point> next_check(Clock::time_point now) const;
  void finish();

 private:
  SourceStats& stats_;
  BpftraceTraits traits_;
  std::chrono::milliseconds drain_limit_;
  std::unique_ptr<RingBufferMonitor> monitor_;
  bool attach_tried_ = false;
  uint64_t unreported_seen_ = 0;  // this run's share already in stats_.lost_unreported
  std::optional<uint64_t> drain_target_;
  Clock::time_point drain_deadline_{};
  RateLimitedLog log_{5, std::chrono::seconds(60)};
};

}  // namespace bto
