// What the correlator tells the console's tree view with each span
// (SpanRecord::open_children, parent_remote): enough to know when a trace is
// complete, on the packed and the full-record paths alike.

#include <gtest/gtest.h>

#include "spans_test_util.h"

namespace bto {
namespace {

using testing::Harness;
using testing::TestEvent;

TEST(TreeHints, a_span_ending_before_its_children_counts_them_open) {
  for (const bool packed : {true, false}) {
    Harness h = packed ? Harness() : Harness(CorrelatorOptions{});
    h.feed(TestEvent("request_start", {{"request_id", 1}}));
    h.feed(TestEvent("net_dial_start", {{"request_id", 2}, {"parent_id", 1}}));
    h.feed(TestEvent("tls_handshake_start", {{"request_id", 3}, {"parent_id", 1}}));
    h.feed(TestEvent("tls_handshake_end", {{"request_id", 3}}));  // closed before the parent ends
    h.feed(TestEvent("request_end", {{"request_id", 1}}));        // the dial is still open
    h.feed(TestEvent("net_dial_end", {{"request_id", 2}}));
    ASSERT_EQ(h.emitted(), 3u);
    EXPECT_EQ(h.span(0).name, "TLS Handshake");
    EXPECT_EQ(h.span(0).open_children, 0);
    EXPECT_EQ(h.span(1).name, "Request");
    EXPECT_EQ(h.span(1).open_children, 1) << "packed=" << packed;
    EXPECT_EQ(h.span(2).open_children, 0);
    for (size_t i = 0; i < 3; ++i) EXPECT_FALSE(h.span(i).parent_remote);
  }
}

TEST(TreeHints, auto_nested_children_and_flush_at_exit_are_counted) {
  Harness h;
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"tid", 7}}));
  h.feed(TestEvent("db_query_start", {{"request_id", 2}, {"tid", 7}}));  // nested by thread
  h.correlator->flush_all();  // both still open at the end: oldest (the parent) first
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).open_children, 1);
  EXPECT_EQ(h.span(1).open_children, 0);
  EXPECT_EQ(h.span(1).parent_span_id, h.span(0).span_id);
}

TEST(TreeHints, traceparent_marks_the_parent_remote) {
  Harness h;
  h.feed(TestEvent("http_request_start",
                   {{"request_id", 1}, {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"parent_id", 1}}));
  h.feed(TestEvent("request_end", {{"request_id", 2}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_FALSE(h.span(0).parent_remote);  // its parent is ours
  EXPECT_TRUE(h.span(1).parent_remote);
  EXPECT_EQ(h.span(1).open_children, 0);
}

TEST(TreeHints, a_recycled_parent_node_is_not_decremented) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("job_start", {{"request_id", 2}, {"parent_id", 1}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));  // parent gone, its node free
  h.feed(TestEvent("request_start", {{"request_id", 3}}));  // may reuse that node
  h.feed(TestEvent("job_end", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 3}}));
  ASSERT_EQ(h.emitted(), 3u);
  EXPECT_EQ(h.span(0).open_children, 1);  // request 1 ended with its job open
  EXPECT_EQ(h.span(2).open_children, 0);  // request 3 never had a child
}

}  // namespace
}  // namespace bto
