#pragma once
// Counters that stick at their maximum instead of wrapping to a small number
// (issue 17.6): a count fed by others (a collector's rejected_spans,
// bpftrace's lost-events records) must never turn a flood into "0 lost".

#include <atomic>
#include <cstdint>
#include <limits>

namespace bto {

inline uint64_t saturating_sum(uint64_t a, uint64_t b) noexcept {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

inline void saturating_add(std::atomic<uint64_t>& counter, uint64_t value) noexcept {
  uint64_t current = counter.load(std::memory_order_relaxed);
  while (!counter.compare_exchange_weak(current, saturating_sum(current, value), std::memory_order_relaxed)) {
  }
}

}  // namespace bto
