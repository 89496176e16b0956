#pragma once
// What the end-to-end tests check on the spans a receiver got: OTLP enum
// values, attribute look-up, and the W3C context a request sent against the
// one its HTTP span continued.

#include <string>
#include <vector>

#include "e2e_support.h"
#include "test_receiver.h"

namespace bto::e2e {

// OTLP enum values (trace.proto).
inline constexpr int kKindInternal = 1;
inline constexpr int kKindServer = 2;
inline constexpr int kKindClient = 3;
inline constexpr int kStatusError = 2;

inline const testing::ReceivedAttribute* find_attr(const std::vector<testing::ReceivedAttribute>& list,
                                                   const std::string& key) {
  for (const auto& a : list) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

inline std::string attr(const testing::ReceivedSpan& span, const std::string& key) {
  const testing::ReceivedAttribute* a = find_attr(span.attributes, key);
  return a != nullptr ? a->value : "<missing " + key + ">";
}

// The span's process (its resource's process.pid; docs/resources.md).
inline std::string process_pid(const testing::ReceivedSpan& span) {
  const testing::ReceivedAttribute* a = find_attr(span.resource, "process.pid");
  return a != nullptr ? a->value : "<missing process.pid>";
}

inline bool is_http(const testing::ReceivedSpan& span) { return span.name.rfind("HTTP ", 0) == 0; }

// Requests carry a unique W3C traceparent and our HTTP spans continue it: the
// span's trace id is the caller's and its parent is the caller's span id.
inline std::string context_of(const Record& r) {
  if (r.traceparent.size() != 55) return r.traceparent;
  return r.traceparent.substr(3, 32) + "-" + r.traceparent.substr(36, 16);
}
inline std::string context_of(const testing::ReceivedSpan& span) {
  return span.trace_id + "-" + span.parent_span_id;
}

}  // namespace bto::e2e
