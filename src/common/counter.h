#pragma once
// Statistics counters written by one thread (the reader) and read by any.

#include <atomic>
#include <cstdint>

namespace bto {

// Single writer: a relaxed load+store avoids the locked read-modify-write of
// operator++ while readers still see whole values.
inline void bump(std::atomic<uint64_t>& counter, uint64_t count = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
}

}  // namespace bto
