#pragma once
// Recycles SpanRecords between the reader thread (acquire) and the export
// thread(s) (release), so the steady state allocates nothing per span.
// Release refunds what a record was charged to the MemoryBudget; records
// larger than kMaxCachedRecordBytes, or beyond kMaxIdleBytes in all, are
// freed, not cached.

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "spans/memory_budget.h"
#include "spans/span_record.h"

namespace bto {

using SpanPtr = std::unique_ptr<SpanRecord>;

// The idle cache's fixed share of the process's memory (docs/reliability.md).
inline constexpr size_t kMaxIdleBytes = size_t{16} << 20;

class SpanPool {
 public:
  // At most max_cached idle records are kept; extra released records are freed.
  explicit SpanPool(size_t max_cached = 16384, MemoryBudget* budget = nullptr)
      : max_cached_(max_cached), budget_(budget) {}

  SpanPtr acquire();                       // reset record, reused when possible
  MemoryBudget* budget() const noexcept { return budget_; }  // null: no byte accounting
  void release(SpanPtr span);              // one record
  void release(std::span<SpanPtr> spans);  // a batch under one lock; leaves nulls behind

 private:
  // Refunds its charge and resets it; returns its size (what the cache would hold).
  size_t settle(SpanRecord& span) noexcept;
  bool cache(SpanPtr& span, size_t bytes);  // under mutex_; false: not kept

  std::mutex mutex_;
  std::vector<SpanPtr> idle_;
  std::vector<size_t> idle_sizes_;  // bytes of each idle record
  size_t idle_bytes_ = 0;
  size_t max_cached_;
  MemoryBudget* budget_;
};

// Where finished spans go (the export side). Called on the reader thread; must
// not block on the network.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void on_span_finished(SpanPtr span) = 0;
};

}  // namespace bto
