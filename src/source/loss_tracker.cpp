#include "source/loss_tracker.h"

#include <spdlog/spdlog.h>

namespace bto {

LossTracker::LossTracker(SourceStats& stats, const BpftraceTraits& traits, std::chrono::milliseconds drain_limit)
    : stats_(stats), traits_(traits), drain_limit_(drain_limit) {}

void LossTracker::attach(pid_t bpftrace_pid) {
  attach_tried_ = true;
  std::string why_not;
  monitor_ = RingBufferMonitor::attach(bpftrace_pid, traits_.loss_counter_misses_last_cpu, why_not);
  if (!monitor_) {
    spdlog::debug("bpftrace's ring buffer is not watched: {}", why_not);
  } else if (!why_not.empty()) {
    spdlog::warn("bpftrace's losses on its last CPU cannot be counted: {}", why_not);
  }
}

void LossTracker::update() {
  if (!monitor_) return;
  const uint64_t unreported = monitor_->unreported_losses();
  if (unreported <= unreported_seen_) return;
  const uint64_t added = unreported - unreported_seen_;
  unreported_seen_ = unreported;
  stats_.lost_unreported.fetch_add(added, std::memory_order_relaxed);
  log_.warn("bpftrace lost {} more events on its last CPU, which bpftrace 0.24+ leave out of their lost_events "
            "reports: counted (raise BPFTRACE_PERF_RB_PAGES for bursts)",
            added);
}

bool LossTracker::ready_to_stop(Clock::time_point now) {
  if (!monitor_) return true;
  if (!drain_target_) {
    drain_target_ = monitor_->producer_position();
    drain_deadline_ = now + drain_limit_;
  }
  const uint64_t consumer = monitor_->consumer_position();
  if (consumer >= *drain_target_) return true;
  if (now < drain_deadline_) return false;
  spdlog::warn("bpftrace had not read {} bytes of its ring buffer {} ms after the stop request; stopping it anyway "
               "(what it drops is counted as lost)",
               *drain_target_ - consumer, drain_limit_.count());
  return true;
}

std::optional<LossTracker::Clock::time_point> LossTracker::next_check(Clock::time_point now) const {
  if (!monitor_ || !drain_target_) return std::nullopt;
  return now + std::chrono::milliseconds(10);
}

void LossTracker::finish() {
  if (!monitor_) return;
  update();
  // bpftrace has exited: what its ring buffer still holds was never printed.
  const uint64_t left = monitor_->pending_records();
  if (left > 0) {
    stats_.lost_at_exit.fetch_add(left, std::memory_order_relaxed);
    spdlog::warn("bpftrace exited with {} events still in its ring buffer (it stops reading on SIGINT): counted "
                 "as lost",
                 left);
  }
  monitor_.reset();
}

}  // namespace bto
