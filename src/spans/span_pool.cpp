#include "spans/span_pool.h"

namespace bto {

SpanPtr SpanPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      SpanPtr span = std::move(idle_.back());
      idle_.pop_back();
      return span;  // reset on release
    }
  }
  return std::make_unique<SpanRecord>();
}

void SpanPool::release(SpanPtr span) {
  if (!span) return;
  // Reset outside the lock: it runs on the export thread, not the reader's.
  span->reset();
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_cached_) idle_.push_back(std::move(span));
  // else: `span` is freed when it goes out of scope, after the unlock.
}

void SpanPool::release(std::span<SpanPtr> spans) {
  for (SpanPtr& span : spans) {
    if (span) span->reset();
  }
  {
    std::lock_guard lock(mutex_);
    for (SpanPtr& span : spans) {
      if (!span) continue;
      if (idle_.size() >= max_cached_) break;
      idle_.push_back(std::move(span));
    }
  }
  // Whatever did not fit in the cache is freed here, outside the lock.
  for (SpanPtr& span : spans) span.reset();
}

}  // namespace bto
