#pragma once
// bpftrace's nsecs is CLOCK_MONOTONIC; spans need Unix epoch nanoseconds.

#include <cstdint>
#include <memory>

namespace bto {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t monotonic_ns() const noexcept = 0;
  virtual uint64_t realtime_ns() const noexcept = 0;
};

std::unique_ptr<Clock> create_system_clock();

// Converts event timestamps to Unix ns. Values that are clearly not epoch
// nanoseconds (before 2000-01-01) are taken as CLOCK_MONOTONIC and shifted by
// an offset measured at start and refreshed every `refresh_interval_ns`.
class TimestampConverter {
 public:
  explicit TimestampConverter(const Clock& clock, uint64_t refresh_interval_ns = 1'000'000'000);
  uint64_t to_unix_ns(uint64_t event_ns) noexcept;
  // True for values taken as CLOCK_MONOTONIC (before 2000-01-01 as Unix ns).
  static bool is_monotonic(uint64_t event_ns) noexcept;
  uint64_t now_unix_ns() const noexcept { return clock_.realtime_ns(); }
  uint64_t now_monotonic_ns() const noexcept { return clock_.monotonic_ns(); }

 private:
  void refresh(uint64_t monotonic_now) noexcept;

  const Clock& clock_;
  uint64_t refresh_interval_ns_;
  uint64_t last_refresh_monotonic_ = 0;
  int64_t offset_ns_ = 0;  // realtime - monotonic
};

}  // namespace bto
