#include "spans/clock.h"

#include <time.h>

namespace bto {
namespace {

// 2000-01-01T00:00:00Z in Unix ns. A monotonic clock would need 30 years of
// uptime to get here, and no real wall clock is before it.
constexpr uint64_t kEpochThresholdNs = 946'684'800ULL * 1'000'000'000ULL;

uint64_t read_clock(clockid_t id) noexcept {
  timespec ts{};
  clock_gettime(id, &ts);  // vDSO: no syscall
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

class SystemClock final : public Clock {
 public:
  uint64_t monotonic_ns() const noexcept override { return read_clock(CLOCK_MONOTONIC); }
  uint64_t realtime_ns() const noexcept override { return read_clock(CLOCK_REALTIME); }
};

}  // namespace

std::unique_ptr<Clock> create_system_clock() { return std::make_unique<SystemClock>(); }

TimestampConverter::TimestampConverter(const Clock& clock, uint64_t refresh_interval_ns)
    : clock_(clock), refresh_interval_ns_(refresh_interval_ns) {
  refresh(clock_.monotonic_ns());
}

void TimestampConverter::refresh(uint64_t monotonic_now) noexcept {
  // Bracket the realtime read with two monotonic reads and use their midpoint,
  // which halves the error a preemption between the reads would cause.
  const uint64_t before = monotonic_now;
  const uint64_t real = clock_.realtime_ns();
  const uint64_t after = clock_.monotonic_ns();
  const uint64_t mid = before + (after >= before ? (after - before) / 2 : 0);
  offset_ns_ = static_cast<int64_t>(real - mid);
  last_refresh_monotonic_ = after >= before ? after : before;
}

bool TimestampConverter::is_monotonic(uint64_t event_ns) noexcept { return event_ns < kEpochThresholdNs; }

uint64_t TimestampConverter::to_unix_ns(uint64_t event_ns) noexcept {
  if (event_ns >= kEpochThresholdNs) return event_ns;
  // The event's own (monotonic) time drives the refresh, so the common case
  // reads no clock at all. Out-of-order events never trigger a refresh.
  if (event_ns > last_refresh_monotonic_ && event_ns - last_refresh_monotonic_ >= refresh_interval_ns_) {
    refresh(clock_.monotonic_ns());
  }
  return static_cast<uint64_t>(static_cast<int64_t>(event_ns) + offset_ns_);
}

}  // namespace bto
