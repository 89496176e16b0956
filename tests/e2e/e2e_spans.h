#pragma once
// What the end-to-end tests check on the spans a receiver got: OTLP enum
// values, attribute look-up, and the W3C context a request sent against the
// one its HTTP span continued.

#include <gtest/gtest.h>

#include <map>
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

using OrderSpans = std::map<std::string, const testing::ReceivedSpan*>;  // span id -> POST /api/orders span

// The demo's order children, as all.bt and paired/all.bt make them: every
// span that is not HTTP is a child of one of `orders`, in its trace, inside
// its window, not an error, with its kind and attributes (net.Dial's port too
// when `peer_port` is known); each order has exactly one net.Dial, one TLS
// Handshake and one Request.
inline void expect_order_children(const std::vector<testing::ReceivedSpan>& spans, const OrderSpans& orders,
                                  int peer_port = 0) {
  std::map<std::string, std::map<std::string, int>> children;  // order span id -> name -> count
  for (const testing::ReceivedSpan& span : spans) {
    if (is_http(span)) continue;
    SCOPED_TRACE(span.name + " " + span.span_id);
    const auto parent = orders.find(span.parent_span_id);
    if (parent == orders.end()) {
      ADD_FAILURE() << "parent is not a POST /api/orders span";
      continue;
    }
    EXPECT_EQ(span.trace_id, parent->second->trace_id);
    EXPECT_GE(span.start, parent->second->start);
    EXPECT_LE(span.end, parent->second->end);
    EXPECT_NE(span.status_code, kStatusError);
    ++children[span.parent_span_id][span.name];
    if (span.name == "TLS Handshake") {
      EXPECT_EQ(span.kind, kKindClient);
      EXPECT_EQ(attr(span, "tls.server_name"), "payments.local");
      EXPECT_EQ(attr(span, "tls.version"), "TLSv1.3");
    } else if (span.name == "net.Dial") {
      EXPECT_EQ(span.kind, kKindClient);
      EXPECT_EQ(attr(span, "net.peer.name"), "127.0.0.1");
      if (peer_port > 0) {
        EXPECT_EQ(attr(span, "net.peer.port"), std::to_string(peer_port));
      }
    } else if (span.name == "Request") {
      EXPECT_EQ(span.kind, kKindInternal);
      EXPECT_EQ(attr(span, "name"), "charge-order");
    } else {
      ADD_FAILURE() << "unexpected span";
    }
  }
  EXPECT_EQ(children.size(), orders.size()) << "orders without children";
  for (const auto& [order, names] : children) {
    EXPECT_EQ(names, (std::map<std::string, int>{{"Request", 1}, {"TLS Handshake", 1}, {"net.Dial", 1}}))
        << "children of " << order;
  }
}

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
