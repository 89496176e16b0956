#pragma once
// One budget, in bytes, for the span state the process holds: open spans
// (and ends held for their start) on the reader thread, finished spans
// queued for export or in a batch being exported. Counts alone do not bound
// memory when each span can carry 128 attributes of 4 KiB, so both sides are
// charged what their records actually hold (string and vector capacities).
//
// Policy when the budget is reached (docs/design.md, "Memory budget"):
//  - queued spans may use at most half of it: beyond, a finished span is
//    treated like a full queue (drop: counted queue_full; block: wait);
//  - open spans get the rest, and at least half: a start that takes the
//    total over the budget evicts the oldest open spans (emitted with an
//    error, counted evicted and memory_evicted) until it fits.
// Spans written to the disk spool no longer count: their records are freed.

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "spans/span_record.h"

namespace bto {

inline constexpr size_t kDefaultMaxMemory = size_t{64} << 20;
// Records bigger than this are freed on release rather than cached by the
// SpanPool, so an idle cache cannot keep what the budget let go of.
inline constexpr size_t kMaxCachedRecordBytes = size_t{16} << 10;

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit_bytes = kDefaultMaxMemory) noexcept : limit_(limit_bytes) {}

  size_t limit() const noexcept { return limit_; }
  size_t open_bytes() const noexcept { return open_.load(std::memory_order_relaxed); }
  size_t queued_bytes() const noexcept { return queued_.load(std::memory_order_relaxed); }
  size_t used() const noexcept { return open_bytes() + queued_bytes(); }
  bool over() const noexcept { return used() > limit_; }

  // Reader thread only.
  void charge_open(size_t bytes) noexcept { open_.fetch_add(bytes, std::memory_order_relaxed); }
  void refund_open(size_t bytes) noexcept { open_.fetch_sub(bytes, std::memory_order_relaxed); }

  // A finished span of `bytes` may be queued: the queue's half has room (an
  // empty queue takes any one span, so a wait for room always ends).
  bool queue_admits(size_t bytes) const noexcept {
    const size_t queued = queued_bytes();
    return queued == 0 || queued + bytes <= limit_ / 2;
  }
  void charge_queued(size_t bytes) noexcept { queued_.fetch_add(bytes, std::memory_order_relaxed); }
  void refund_queued(size_t bytes) noexcept { queued_.fetch_sub(bytes, std::memory_order_relaxed); }

 private:
  const size_t limit_;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> queued_{0};
};

// What a record holds on the heap and inline, capacities included (a pooled
// record keeps them). Cost: one pass over its attribute slots.
size_t span_record_bytes(const SpanRecord& span) noexcept;

}  // namespace bto
