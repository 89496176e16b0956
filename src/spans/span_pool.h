#pragma once
// Recycles SpanRecords between the reader thread (acquire) and the export
// thread(s) (release), so the steady state allocates nothing per span.

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "spans/span_record.h"

namespace bto {

using SpanPtr = std::unique_ptr<SpanRecord>;

class SpanPool {
 public:
  // At most max_cached idle records are kept; extra released records are freed.
  explicit SpanPool(size_t max_cached = 16384) : max_cached_(max_cached) {}

  SpanPtr acquire();                       // reset record, reused when possible
  void release(SpanPtr span);              // one record
  void release(std::span<SpanPtr> spans);  // a batch under one lock; leaves nulls behind

 private:
  std::mutex mutex_;
  std::vector<SpanPtr> idle_;
  size_t max_cached_;
};

// Where finished spans go (the export side). Called on the reader thread; must
// not block on the network.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  virtual void on_span_finished(SpanPtr span) = 0;
};

}  // namespace bto
