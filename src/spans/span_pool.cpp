#include "spans/span_pool.h"

namespace bto {

SpanPtr SpanPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      SpanPtr span = std::move(idle_.back());
      idle_.pop_back();
      idle_bytes_ -= idle_sizes_.back();
      idle_sizes_.pop_back();
      return span;  // reset on release
    }
  }
  return std::make_unique<SpanRecord>();
}

size_t SpanPool::settle(SpanRecord& span) noexcept {
  // A charged record was measured when queued; export does not grow it, and
  // capacities survive the reset, so that figure is its size here too.
  const size_t charged = span.charged_bytes;
  if (budget_ != nullptr && charged != 0) budget_->refund_queued(charged);
  const size_t bytes = charged != 0 ? charged : span_record_bytes(span);
  span.reset();
  return bytes;
}

bool SpanPool::cache(SpanPtr& span, size_t bytes) {
  if (idle_.size() >= max_cached_ || bytes > kMaxCachedRecordBytes || idle_bytes_ + bytes > kMaxIdleBytes) {
    return false;
  }
  idle_.push_back(std::move(span));
  idle_sizes_.push_back(bytes);
  idle_bytes_ += bytes;
  return true;
}

void SpanPool::release(SpanPtr span) {
  if (!span) return;
  // Reset outside the lock: it runs on the export thread, not the reader's.
  const size_t bytes = settle(*span);
  std::lock_guard lock(mutex_);
  cache(span, bytes);
  // Not cached: `span` is freed when it goes out of scope, after the unlock.
}

void SpanPool::release(std::span<SpanPtr> spans) {
  thread_local std::vector<size_t> sizes;
  sizes.clear();
  for (SpanPtr& span : spans) sizes.push_back(span ? settle(*span) : 0);
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < spans.size(); ++i) {
      if (spans[i]) cache(spans[i], sizes[i]);
    }
  }
  // Whatever did not fit in the cache is freed here, outside the lock.
  for (SpanPtr& span : spans) span.reset();
}

}  // namespace bto
