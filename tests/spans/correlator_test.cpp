#include "spans/correlator.h"

#include <gtest/gtest.h>

#include <set>

#include "allocation_counter.h"  // counts every heap allocation of this binary (steady-state check below)
#include "spans_test_util.h"

namespace bto {
namespace {

using testing::attr;
using testing::Harness;
using testing::kMono0;
using testing::kMs;
using testing::kOffset;
using testing::kReal0;
using testing::kSecond;
using testing::TestEvent;

bool nonzero(std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return true;
  }
  return false;
}

std::string string_attr(const SpanRecord& span, std::string_view key) {
  const Attribute* a = attr(span, key);
  return a != nullptr && a->type == AttrType::kString ? a->string_value : "<none>";
}

TEST(Correlator, pairs_start_and_end_by_request_id) {
  Harness h;
  h.feed(TestEvent("http_request_start",
                   {{"request_id", 7}, {"method", "GET"}, {"uri", "/a"}, {"timestamp", kMono0 + 10 * kMs}}));
  EXPECT_EQ(h.stats.open_spans, 1u);
  EXPECT_EQ(h.emitted(), 0u);
  h.feed(TestEvent("http_request_end",
                   {{"request_id", 7}, {"status_code", 200}, {"timestamp", kMono0 + 25 * kMs}}));
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& span = h.span(0);
  EXPECT_EQ(span.name, "HTTP GET /a");
  EXPECT_EQ(span.kind, SpanKind::kServer);
  EXPECT_EQ(span.start_time_unix_ns, kOffset + kMono0 + 10 * kMs);
  EXPECT_EQ(span.end_time_unix_ns, kOffset + kMono0 + 25 * kMs);
  EXPECT_EQ(span.status, StatusCode::kUnset);
  EXPECT_TRUE(nonzero(span.trace_id));
  EXPECT_TRUE(nonzero(span.span_id));
  EXPECT_FALSE(span.has_parent());
  EXPECT_EQ(span.depth, 0);
  EXPECT_EQ(attr(span, "http.status_code")->int_value, 200);
  EXPECT_EQ(attr(span, "bpftrace_otel.incomplete"), nullptr);
  EXPECT_EQ(h.stats.spans_started, 1u);
  EXPECT_EQ(h.stats.spans_ended, 1u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

TEST(Correlator, integer_and_string_request_ids_match) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 42}}));
  h.feed(TestEvent("request_end", {{"request_id", "42"}}));
  h.feed(TestEvent("request_start", {{"request_id", "43"}}));
  h.feed(TestEvent("request_end", {{"request_id", 43}}));
  EXPECT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.stats.spans_ended, 2u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

TEST(Correlator, same_request_id_in_other_family_is_another_span) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"method", "GET"}, {"uri", "/"}}));
  EXPECT_EQ(h.stats.open_spans, 2u);
  h.feed(TestEvent("http_request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "HTTP GET /");
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(1).name, "Request");
}

TEST(Correlator, end_duration_wins_over_end_timestamp) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0}}));
  h.feed(
      TestEvent("request_end", {{"request_id", 1}, {"duration", 5 * kMs}, {"timestamp", kMono0 + 99 * kMs}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).start_time_unix_ns, kOffset + kMono0);
  EXPECT_EQ(h.span(0).end_time_unix_ns, kOffset + kMono0 + 5 * kMs);
}

TEST(Correlator, times_fall_back_to_arrival) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.clock.advance(3 * kMs);
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).start_time_unix_ns, kReal0);
  EXPECT_EQ(h.span(0).end_time_unix_ns, kReal0 + 3 * kMs);
}

// The reader waits longer between small reads only while nothing is timed on
// arrival (SourceOptions::read_coalesce_timestamped); each way of timing an
// event on arrival must say so.
TEST(Correlator, arrival_times_used_stays_clear_while_every_event_has_a_timestamp) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"timestamp", kMono0 + kMs}}));
  h.feed(TestEvent("request", {{"request_id", 2}, {"timestamp", kMono0}, {"duration", kMs}}));
  h.feed(TestEvent("request_end", {{"request_id", 3}, {"timestamp", kMono0 + kMs}}));  // held: no start yet
  EXPECT_EQ(h.emitted(), 2u);
  EXPECT_FALSE(h.stats.arrival_times_used.load());
}

TEST(Correlator, arrival_times_used_is_set_by_any_event_timed_on_arrival) {
  const std::vector<std::vector<TestEvent>> cases = {
      {TestEvent("request_start", {{"request_id", 1}})},
      {TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0}}), TestEvent("request_end", {{"request_id", 1}})},
      {TestEvent("request", {{"request_id", 2}, {"duration", kMs}})},
      {TestEvent("request_end", {{"request_id", 3}})},  // held: no start yet
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Harness h;
    for (const TestEvent& event : cases[i]) h.feed(event);
    EXPECT_TRUE(h.stats.arrival_times_used.load()) << "case " << i;
  }
}

TEST(Correlator, epoch_timestamps_pass_through) {
  Harness h;
  const uint64_t epoch = 1'750'000'000'000'000'000ULL;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", epoch}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"timestamp", epoch + kMs}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).start_time_unix_ns, epoch);
  EXPECT_EQ(h.span(0).end_time_unix_ns, epoch + kMs);
}

TEST(Correlator, end_before_start_in_time_is_clamped) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0 + kMs}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"timestamp", kMono0}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).end_time_unix_ns, h.span(0).start_time_unix_ns);
}

// Issue 17.6: the clamp was silent. Now marked (by how much) and counted, for
// monotonic and wall-clock timestamps. (An end *held* before a later start no
// longer pairs with it: HeldEnds::find_for_start.)
TEST(Correlator, end_before_start_clamp_mark_count) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0 + kMs}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"timestamp", kMono0}}));
  const uint64_t epoch = 1'750'000'000'000'000'000ULL;
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"timestamp", epoch + 3 * kMs}}));
  h.feed(TestEvent("request_end", {{"request_id", 2}, {"timestamp", epoch}}));
  h.feed(TestEvent("request_start", {{"request_id", 4}, {"timestamp", kMono0}}));  // a normal one
  h.feed(TestEvent("request_end", {{"request_id", 4}, {"timestamp", kMono0 + kMs}}));
  ASSERT_EQ(h.emitted(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(h.span(i).end_time_unix_ns, h.span(i).start_time_unix_ns) << i;
    ASSERT_NE(attr(h.span(i), kEndBeforeStartKey), nullptr) << i;
  }
  EXPECT_EQ(attr(h.span(0), kEndBeforeStartKey)->int_value, static_cast<int64_t>(kMs));
  EXPECT_EQ(attr(h.span(1), kEndBeforeStartKey)->int_value, static_cast<int64_t>(3 * kMs));
  EXPECT_EQ(attr(h.span(2), kEndBeforeStartKey), nullptr);
  EXPECT_EQ(h.span(2).end_time_unix_ns, h.span(2).start_time_unix_ns + kMs);
  EXPECT_EQ(h.stats.end_before_start, 2u);
}

TEST(Correlator, timestamp_and_duration_types) {
  Harness h;
  // A double timestamp and a numeric-string duration are accepted.
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", static_cast<double>(kMono0)}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"duration", "2000"}}));
  // Unusable values (negative, bool, text) fall back to arrival time.
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"timestamp", -5}}));
  h.feed(TestEvent("request_end", {{"request_id", 2}, {"timestamp", true}, {"duration", "soon"}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).start_time_unix_ns, kOffset + kMono0);
  EXPECT_EQ(h.span(0).end_time_unix_ns, kOffset + kMono0 + 2000);
  EXPECT_EQ(h.span(1).start_time_unix_ns, kReal0);
  EXPECT_EQ(h.span(1).end_time_unix_ns, kReal0);
}

TEST(Correlator, missing_request_id_is_counted_and_dropped) {
  Harness h;
  h.feed(TestEvent("request_start", {{"method", "GET"}}));
  h.feed(TestEvent("request_end", {}));
  h.feed(TestEvent("request_start", {{"request_id", ""}}));
  h.feed(TestEvent("request_start", {{"request_id", true}}));
  h.feed(TestEvent("request_start", {{"request_id", 1.5}}));
  EXPECT_EQ(h.stats.missing_request_id, 5u);
  EXPECT_EQ(h.stats.spans_started, 0u);
  EXPECT_EQ(h.stats.open_spans, 0u);
  EXPECT_EQ(h.emitted(), 0u);
  // A single event needs no request_id.
  h.feed(TestEvent("db_query", {{"duration", 10}}));
  EXPECT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.stats.missing_request_id, 5u);
}

TEST(Correlator, overlong_request_ids_are_rejected_so_memory_stays_bounded) {
  Harness h;
  const std::string longest(256, 'a');
  const std::string too_long(257, 'a');
  h.feed(TestEvent("request_start", {{"request_id", longest}}));
  h.feed(TestEvent("request_start", {{"request_id", too_long}}));
  EXPECT_EQ(h.stats.spans_started, 1u);
  EXPECT_EQ(h.stats.missing_request_id, 1u);
  EXPECT_EQ(h.stats.open_spans, 1u);
}

TEST(Correlator, nested_children_join_the_parent_trace) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("net_dial_start", {{"request_id", 2}, {"parent_id", 1}, {"peer", "db"}}));
  h.feed(TestEvent("tls_handshake_start", {{"request_id", "3"}, {"parent_id", "2"}}));
  h.feed(TestEvent("tls_handshake_end", {{"request_id", 3}}));
  h.feed(TestEvent("net_dial_end", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 3u);
  const SpanRecord& tls = h.span(0);
  const SpanRecord& dial = h.span(1);
  const SpanRecord& request = h.span(2);
  EXPECT_EQ(tls.name, "TLS Handshake");
  EXPECT_EQ(dial.name, "net.Dial");
  EXPECT_EQ(request.name, "Request");
  EXPECT_FALSE(request.has_parent());
  EXPECT_EQ(dial.trace_id, request.trace_id);
  EXPECT_EQ(tls.trace_id, request.trace_id);
  EXPECT_EQ(dial.parent_span_id, request.span_id);
  EXPECT_EQ(tls.parent_span_id, dial.span_id);
  EXPECT_EQ(request.depth, 0);
  EXPECT_EQ(dial.depth, 1);
  EXPECT_EQ(tls.depth, 2);
  EXPECT_EQ(h.stats.parent_not_found, 0u);
  EXPECT_EQ(attr(dial, "parent_id"), nullptr);  // consumed, not an attribute
}

TEST(Correlator, separate_top_level_spans_get_separate_traces) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}}));
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_NE(h.span(0).trace_id, h.span(1).trace_id);
}

TEST(Correlator, child_links_to_recently_ended_parent) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 9}}));
  h.feed(TestEvent("request_end", {{"request_id", 9}}));
  h.feed(TestEvent("net_dial_start", {{"request_id", 10}, {"parent_id", 9}}));
  h.feed(TestEvent("net_dial_end", {{"request_id", 10}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(1).trace_id, h.span(0).trace_id);
  EXPECT_EQ(h.span(1).parent_span_id, h.span(0).span_id);
  EXPECT_EQ(h.span(1).depth, 1);
  EXPECT_EQ(h.stats.parent_not_found, 0u);
}

TEST(Correlator, unknown_parent_is_counted_and_starts_a_new_trace) {
  Harness h;
  h.feed(TestEvent("net_dial_start", {{"request_id", 10}, {"parent_id", 999}}));
  h.feed(TestEvent("net_dial_end", {{"request_id", 10}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_FALSE(h.span(0).has_parent());
  EXPECT_TRUE(nonzero(h.span(0).trace_id));
  EXPECT_EQ(h.stats.parent_not_found, 1u);
}

TEST(Correlator, parent_id_zero_or_empty_means_root) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"parent_id", 0}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"parent_id", ""}}));
  h.correlator->flush_all();
  EXPECT_EQ(h.stats.parent_not_found, 0u);
  EXPECT_FALSE(h.span(0).has_parent());
  EXPECT_FALSE(h.span(1).has_parent());
}

TEST(Correlator, second_start_supersedes_the_first) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 5}, {"timestamp", kMono0}}));
  h.feed(TestEvent("request_start", {{"request_id", 5}, {"timestamp", kMono0 + 4 * kMs}}));
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& first = h.span(0);
  EXPECT_EQ(first.status, StatusCode::kError);
  EXPECT_EQ(string_attr(first, "bpftrace_otel.incomplete"), "superseded");
  EXPECT_FALSE(first.status_message.empty());
  EXPECT_EQ(first.start_time_unix_ns, kOffset + kMono0);
  EXPECT_EQ(first.end_time_unix_ns, kOffset + kMono0 + 4 * kMs);  // the moment it was given up
  EXPECT_EQ(h.stats.spans_superseded, 1u);
  EXPECT_EQ(h.stats.open_spans, 1u);
  h.feed(TestEvent("request_end", {{"request_id", 5}, {"timestamp", kMono0 + 6 * kMs}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(1).status, StatusCode::kUnset);
  EXPECT_EQ(h.span(1).start_time_unix_ns, kOffset + kMono0 + 4 * kMs);
  EXPECT_EQ(h.stats.spans_started, 2u);
  EXPECT_EQ(h.stats.spans_ended, 1u);
}

TEST(Correlator, capacity_evicts_the_oldest_open_span) {
  CorrelatorOptions options;
  options.max_open_spans = 2;
  Harness h(options);
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}}));
  h.feed(TestEvent("request_start", {{"request_id", 3}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(attr(h.span(0), "request.id")->int_value, 1);
  EXPECT_EQ(h.span(0).status, StatusCode::kError);
  EXPECT_EQ(string_attr(h.span(0), "bpftrace_otel.incomplete"), "evicted");
  EXPECT_EQ(h.stats.spans_evicted, 1u);
  EXPECT_EQ(h.stats.open_spans, 2u);
  h.feed(TestEvent("request_end", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 3}}));
  EXPECT_EQ(h.stats.spans_ended, 2u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

TEST(Correlator, timed_out_spans_are_swept_in_arrival_order) {
  CorrelatorOptions options;
  options.span_timeout = std::chrono::seconds(10);
  Harness h(options);
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.clock.advance(4 * kSecond);
  h.feed(TestEvent("request_start", {{"request_id", 2}}));
  h.clock.advance(5 * kSecond);
  h.correlator->sweep();
  EXPECT_EQ(h.emitted(), 0u);
  h.clock.advance(1 * kSecond);  // t = 10 s: the first expires, the second (t = 4 s) not yet
  h.correlator->sweep();
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& span = h.span(0);
  EXPECT_EQ(attr(span, "request.id")->int_value, 1);
  EXPECT_EQ(span.status, StatusCode::kError);
  EXPECT_EQ(string_attr(span, "bpftrace_otel.incomplete"), "timeout");
  EXPECT_EQ(span.start_time_unix_ns, kReal0);
  EXPECT_EQ(span.end_time_unix_ns, kReal0 + 10 * kSecond);
  EXPECT_EQ(h.stats.spans_timed_out, 1u);
  EXPECT_EQ(h.stats.open_spans, 1u);
  h.clock.advance(4 * kSecond);
  h.correlator->sweep();
  EXPECT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.stats.spans_timed_out, 2u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

TEST(Correlator, ended_span_does_not_time_out) {
  CorrelatorOptions options;
  options.span_timeout = std::chrono::seconds(1);
  Harness h(options);
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  h.clock.advance(2 * kSecond);
  h.correlator->sweep();
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).status, StatusCode::kUnset);
  EXPECT_EQ(attr(h.span(1), "request.id")->int_value, 2);
  EXPECT_EQ(h.stats.spans_timed_out, 1u);
}

TEST(Correlator, end_before_start_is_held_and_paired) {
  Harness h;
  h.feed(TestEvent("http_request_end",
                   {{"request_id", 8}, {"status_code", 404}, {"timestamp", kMono0 + 30 * kMs}}));
  EXPECT_EQ(h.emitted(), 0u);
  EXPECT_EQ(h.stats.open_spans, 0u);
  h.feed(TestEvent("http_request_start",
                   {{"request_id", 8}, {"method", "POST"}, {"uri", "/x"}, {"timestamp", kMono0 + 10 * kMs}}));
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& span = h.span(0);
  EXPECT_EQ(span.name, "HTTP POST /x");
  EXPECT_EQ(span.start_time_unix_ns, kOffset + kMono0 + 10 * kMs);
  EXPECT_EQ(span.end_time_unix_ns, kOffset + kMono0 + 30 * kMs);
  EXPECT_EQ(attr(span, "http.status_code")->int_value, 404);
  EXPECT_EQ(string_attr(span, "http.method"), "POST");
  EXPECT_EQ(attr(span, "bpftrace_otel.incomplete"), nullptr);
  EXPECT_EQ(span.status, StatusCode::kUnset);
  EXPECT_EQ(h.stats.spans_ended, 1u);
  EXPECT_EQ(h.stats.open_spans, 0u);
  // Nothing is left over for later.
  h.clock.advance(10 * kSecond);
  h.correlator->sweep();
  h.correlator->flush_all();
  EXPECT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 0u);
}

TEST(Correlator, held_end_with_duration_becomes_a_span_after_the_hold) {
  CorrelatorOptions options;
  options.orphan_hold = std::chrono::seconds(2);
  Harness h(options);
  h.feed(TestEvent("net_dial_end", {{"request_id", 4},
                                    {"duration", 7 * kMs},
                                    {"timestamp", kMono0 + 50 * kMs},
                                    {"peer", "db.local"},
                                    {"port", 5432}}));
  h.clock.advance(1 * kSecond);
  h.correlator->sweep();
  EXPECT_EQ(h.emitted(), 0u);
  h.clock.advance(1 * kSecond);
  h.correlator->sweep();
  ASSERT_EQ(h.emitted(), 1u);
  const SpanRecord& span = h.span(0);
  EXPECT_EQ(span.name, "net.Dial");
  EXPECT_EQ(span.kind, SpanKind::kClient);
  EXPECT_EQ(span.end_time_unix_ns, kOffset + kMono0 + 50 * kMs);
  EXPECT_EQ(span.start_time_unix_ns, kOffset + kMono0 + 43 * kMs);
  EXPECT_EQ(span.status, StatusCode::kUnset);  // not an error, just marked
  EXPECT_EQ(string_attr(span, "bpftrace_otel.incomplete"), "orphan_end");
  EXPECT_EQ(string_attr(span, "net.peer.name"), "db.local");
  EXPECT_EQ(h.stats.spans_from_orphan_end, 1u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 0u);
}

TEST(Correlator, held_end_without_duration_is_dropped_after_the_hold) {
  Harness h;
  h.feed(TestEvent("request_end", {{"request_id", 4}}));
  h.clock.advance(3 * kSecond);
  h.correlator->sweep();
  EXPECT_EQ(h.emitted(), 0u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 1u);
  // A start arriving after that no longer pairs: it is a normal open span.
  h.feed(TestEvent("request_start", {{"request_id", 4}}));
  EXPECT_EQ(h.stats.open_spans, 1u);
}

TEST(Correlator, second_held_end_with_the_same_key_resolves_the_first) {
  Harness h;
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"duration", 10}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(string_attr(h.span(0), "bpftrace_otel.incomplete"), "orphan_end");
  EXPECT_EQ(h.stats.spans_from_orphan_end, 1u);
  h.feed(TestEvent("request_start", {{"request_id", 1}}));  // pairs with the second end
  EXPECT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.stats.spans_ended, 1u);
}

TEST(Correlator, held_end_keeps_its_parent) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("net_dial_end", {{"request_id", 2}, {"parent_id", 1}, {"duration", 10}}));
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  h.clock.advance(3 * kSecond);
  h.correlator->sweep();
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(1).name, "net.Dial");
  EXPECT_EQ(h.span(1).parent_span_id, h.span(0).span_id);
  EXPECT_EQ(h.span(1).trace_id, h.span(0).trace_id);
  EXPECT_EQ(h.stats.parent_not_found, 0u);
}

TEST(Correlator, held_orphans_are_bounded) {
  CorrelatorOptions options;
  options.max_held_orphans = 2;
  Harness h(options);
  h.feed(TestEvent("request_end", {{"request_id", 1}, {"duration", 100}}));
  h.feed(TestEvent("request_end", {{"request_id", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 3}}));
  EXPECT_EQ(h.stats.orphan_ends_evicted, 1u);
  ASSERT_EQ(h.emitted(), 1u);  // the first had a duration: emitted from its own fields
  EXPECT_EQ(attr(h.span(0), "request.id")->int_value, 1);
  EXPECT_EQ(h.stats.spans_from_orphan_end, 1u);
  h.feed(TestEvent("request_end", {{"request_id", 4}}));
  EXPECT_EQ(h.stats.orphan_ends_evicted, 2u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 1u);  // #2 had no duration
  // #3 and #4 are still held and pair with their starts.
  h.feed(TestEvent("request_start", {{"request_id", 3}}));
  h.feed(TestEvent("request_start", {{"request_id", 4}}));
  EXPECT_EQ(h.stats.spans_ended, 2u);
  EXPECT_EQ(h.emitted(), 3u);
}

TEST(Correlator, flush_all_emits_open_spans_and_resolves_orphans) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"timestamp", kMono0}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"timestamp", kMono0 + kMs}}));
  h.feed(TestEvent("request_end", {{"request_id", 3}, {"duration", kMs}, {"timestamp", kMono0 + 5 * kMs}}));
  h.feed(TestEvent("request_end", {{"request_id", 4}}));
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 3u);
  EXPECT_EQ(attr(h.span(0), "request.id")->int_value, 1);
  EXPECT_EQ(attr(h.span(1), "request.id")->int_value, 2);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(h.span(i).status, StatusCode::kError);
    EXPECT_EQ(string_attr(h.span(i), "bpftrace_otel.incomplete"), "shutdown");
    // Ends at the latest event time seen, not at the (later) wall clock.
    EXPECT_EQ(h.span(i).end_time_unix_ns, kOffset + kMono0 + 5 * kMs);
  }
  EXPECT_EQ(string_attr(h.span(2), "bpftrace_otel.incomplete"), "orphan_end");
  EXPECT_EQ(h.span(2).start_time_unix_ns, kOffset + kMono0 + 4 * kMs);
  EXPECT_EQ(h.stats.flushed_at_shutdown, 2u);
  EXPECT_EQ(h.stats.spans_from_orphan_end, 1u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 1u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

TEST(Correlator, single_event_with_duration_is_a_complete_span) {
  Harness h;
  // With a timestamp: the timestamp is the start.
  h.feed(TestEvent("db_query", {{"duration", 3 * kMs}, {"timestamp", kMono0 + kMs}, {"table", "users"}}));
  // Without: it ends on arrival.
  h.feed(TestEvent("cache_lookup", {{"duration", 2 * kMs}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).name, "db_query");
  EXPECT_EQ(h.span(0).start_time_unix_ns, kOffset + kMono0 + kMs);
  EXPECT_EQ(h.span(0).end_time_unix_ns, kOffset + kMono0 + 4 * kMs);
  EXPECT_EQ(string_attr(h.span(0), "table"), "users");
  EXPECT_EQ(h.span(1).end_time_unix_ns, kReal0);
  EXPECT_EQ(h.span(1).start_time_unix_ns, kReal0 - 2 * kMs);
  EXPECT_EQ(h.stats.spans_single, 2u);
}

TEST(Correlator, single_span_joins_its_parent) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("db_query", {{"duration", 10}, {"parent_id", 1}}));
  ASSERT_EQ(h.emitted(), 1u);
  h.feed(TestEvent("request_end", {{"request_id", 1}}));
  EXPECT_EQ(h.span(0).parent_span_id, h.span(1).span_id);
  EXPECT_EQ(h.span(0).trace_id, h.span(1).trace_id);
}

TEST(Correlator, point_event_attaches_to_the_span_named_by_parent_id) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}}));
  h.feed(TestEvent("cache_miss", {{"parent_id", "1"}, {"key", "k1"}, {"timestamp", kMono0 + kMs}}));
  EXPECT_EQ(h.stats.span_events, 1u);
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 2u);
  const SpanRecord& first = h.span(0);
  ASSERT_EQ(first.events.size(), 1u);
  EXPECT_EQ(first.events[0].name, "cache_miss");
  EXPECT_EQ(first.events[0].time_unix_ns, kOffset + kMono0 + kMs);
  ASSERT_NE(first.events[0].attributes.find("key"), nullptr);
  EXPECT_EQ(first.events[0].attributes.find("key")->string_value, "k1");
  EXPECT_EQ(first.events[0].attributes.find("parent_id"), nullptr);
  EXPECT_TRUE(h.span(1).events.empty());
  EXPECT_EQ(h.stats.spans_single, 0u);
}

TEST(Correlator, point_event_attaches_to_latest_open_span_of_its_thread) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"tid", 100}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"tid", 100}}));
  h.feed(TestEvent("request_start", {{"request_id", 3}, {"tid", 200}}));
  h.feed(TestEvent("gc_pause", {{"tid", 100}}));
  h.feed(TestEvent("request_end", {{"request_id", 2}}));
  h.feed(TestEvent("gc_pause", {{"tid", 100}}));  // #2 ended: now #1 is the latest on tid 100
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 3u);
  EXPECT_EQ(attr(h.span(0), "request.id")->int_value, 2);
  EXPECT_EQ(h.span(0).events.size(), 1u);
  EXPECT_EQ(attr(h.span(1), "request.id")->int_value, 1);
  EXPECT_EQ(h.span(1).events.size(), 1u);
  EXPECT_EQ(h.span(2).events.size(), 0u);
  EXPECT_EQ(h.span(0).events[0].attributes.find("thread.id")->int_value, 100);
  EXPECT_EQ(h.stats.span_events, 2u);
}

TEST(Correlator, point_event_without_open_span_is_a_zero_length_span) {
  Harness h;
  h.feed(TestEvent("oom_kill", {{"tid", 5}, {"timestamp", kMono0 + kMs}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(h.span(0).name, "oom_kill");
  EXPECT_EQ(h.span(0).start_time_unix_ns, kOffset + kMono0 + kMs);
  EXPECT_EQ(h.span(0).end_time_unix_ns, kOffset + kMono0 + kMs);
  EXPECT_EQ(h.stats.spans_single, 1u);
  EXPECT_EQ(h.stats.span_events, 0u);
}

TEST(Correlator, span_events_per_span_are_capped) {
  Harness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  for (int i = 0; i < 130; ++i) h.feed(TestEvent("tick", {{"parent_id", 1}}));
  EXPECT_EQ(h.stats.span_events, 128u);
  EXPECT_EQ(h.stats.span_events_dropped, 2u);
}

TEST(Correlator, error_field_makes_any_span_an_error) {
  Harness h;
  h.feed(TestEvent("net_dial_start", {{"request_id", 1}}));
  h.feed(TestEvent("net_dial_end", {{"request_id", 1}, {"errno", 111}}));
  h.feed(TestEvent("job_start", {{"request_id", 2}}));
  h.feed(TestEvent("job_end", {{"request_id", 2}, {"error", 0}}));
  ASSERT_EQ(h.emitted(), 2u);
  EXPECT_EQ(h.span(0).status, StatusCode::kError);
  EXPECT_EQ(h.span(0).status_message, "errno 111");
  EXPECT_EQ(h.span(1).status, StatusCode::kUnset);
}

TEST(Correlator, ids_are_random_and_non_zero) {
  Harness h;
  for (int i = 0; i < 1000; ++i) {
    h.feed(TestEvent("request_start", {{"request_id", i}}));
    h.feed(TestEvent("request_end", {{"request_id", i}}));
  }
  std::set<TraceId> traces;
  std::set<SpanId> spans;
  for (const SpanPtr& span : h.sink.spans) {
    EXPECT_TRUE(nonzero(span->trace_id));
    EXPECT_TRUE(nonzero(span->span_id));
    traces.insert(span->trace_id);
    spans.insert(span->span_id);
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
}

TEST(Correlator, lost_events_are_counted) {
  Harness h;
  h.correlator->on_lost_events(12);
  h.correlator->on_lost_events(3);
  EXPECT_EQ(h.stats.lost_events, 15u);
}

TEST(Correlator, open_table_survives_churn) {
  CorrelatorOptions options;
  options.max_open_spans = 128;  // 80 in flight at the peak
  Harness h(options);
  // Interleaved starts/ends with many ids in flight, plus shared ids across families.
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 40; ++i) {
      h.feed(TestEvent("request_start", {{"request_id", round * 100 + i}, {"tid", i % 3}}));
      h.feed(TestEvent("net_dial_start", {{"request_id", round * 100 + i}, {"parent_id", round * 100 + i}}));
    }
    for (int i = 39; i >= 0; --i) {
      h.feed(TestEvent("net_dial_end", {{"request_id", round * 100 + i}}));
      h.feed(TestEvent("request_end", {{"request_id", round * 100 + i}}));
    }
  }
  h.correlator->flush_all();
  const uint64_t total = h.stats.spans_ended + h.stats.spans_evicted + h.stats.flushed_at_shutdown +
                         h.stats.spans_from_orphan_end;
  EXPECT_EQ(total, h.emitted());
  EXPECT_EQ(h.stats.spans_started, 4000u);
  EXPECT_EQ(h.stats.spans_evicted, 0u);
  EXPECT_EQ(h.stats.spans_ended, 4000u);
  EXPECT_EQ(h.stats.open_spans, 0u);
  EXPECT_EQ(h.stats.parent_not_found, 0u);
}

TEST(Correlator, steady_state_allocates_nothing_per_event) {
#if !defined(BTO_COUNTS_ALLOCATIONS)
  GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
#endif
  testing::FakeClock clock;
  TimestampConverter converter(clock);
  HandlerRegistry registry(HandlerOptions{});
  register_builtin_handlers(registry);
  SpanPool pool;
  testing::ReleasingSink sink(pool);
  CorrelatorStats stats;
  const auto correlator = create_correlator(CorrelatorOptions{}, registry, pool, sink, converter, stats);
  std::vector<TestEvent> events;
  for (int id = 0; id < 64; ++id) {
    events.push_back(TestEvent("request_start", {{"request_id", id + 1000}, {"tid", id % 4}}));
    events.push_back(TestEvent("http_request_start", {{"request_id", id},
                                                      {"parent_id", id + 1000},
                                                      {"method", "GET"},
                                                      {"uri", "/api/v1/users/12345/orders"},
                                                      {"tid", id % 4},
                                                      {"timestamp", kMono0 + 5}}));
    events.push_back(
        TestEvent("http_request_end", {{"request_id", id}, {"status_code", 200}, {"timestamp", kMono0 + 9}}));
    events.push_back(TestEvent("request_end", {{"request_id", std::to_string(id + 1000)}, {"duration", 10}}));
  }
  std::vector<Event> views;
  for (const TestEvent& event : events) views.push_back(event.event());
  for (int round = 0; round < 3; ++round) {  // warm-up: tables and records reach their size
    for (const Event& event : views) correlator->on_event(event);
  }
  const uint64_t before = testing::allocations();
  for (int round = 0; round < 20; ++round) {
    for (const Event& event : views) correlator->on_event(event);
    correlator->sweep();
  }
  const uint64_t allocations = testing::allocations() - before;
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(sink.count, 23u * 128u);
  EXPECT_EQ(stats.parent_not_found, 0u);
}

}  // namespace
}  // namespace bto

namespace bto {
namespace {

// Open spans are held packed when their start fits the inline buffer and as
// full records when it does not: both must pair, parent and flush alike.
class OpenSpanStorage : public ::testing::TestWithParam<size_t> {};

TEST_P(OpenSpanStorage, packed_full_and_oversized_open_spans_behave_the_same) {
  CorrelatorOptions options;
  options.pack_open_spans_above = GetParam();
  Harness h(options);
  const std::string long_uri = "/" + std::string(400, 'u');
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"method", "GET"}, {"uri", "/short"},
                                          {"timestamp", kMono0 + kMs}}));
  h.feed(TestEvent("http_request_start", {{"request_id", 2}, {"method", "GET"}, {"uri", long_uri},
                                          {"timestamp", kMono0 + kMs}}));
  h.feed(TestEvent("request_start", {{"request_id", 11}, {"parent_id", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 12}, {"parent_id", 2}}));
  h.feed(TestEvent("cache_miss", {{"parent_id", 1}, {"key", "k1"}, {"timestamp", kMono0 + 2 * kMs}}));
  h.feed(TestEvent("request_end", {{"request_id", 11}}));
  h.feed(TestEvent("request_end", {{"request_id", 12}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}, {"status_code", 200}, {"timestamp", kMono0 + 5 * kMs}}));
  h.correlator->flush_all();  // request 2 is still open: emitted as incomplete
  ASSERT_EQ(h.emitted(), 4u);
  const SpanRecord& child1 = h.span(0);
  const SpanRecord& child2 = h.span(1);
  const SpanRecord& short_span = h.span(2);
  const SpanRecord& long_span = h.span(3);
  EXPECT_EQ(short_span.name, "HTTP GET /short");
  EXPECT_EQ(string_attr(short_span, "http.method"), "GET");
  EXPECT_EQ(short_span.start_time_unix_ns, kOffset + kMono0 + kMs);
  EXPECT_EQ(short_span.end_time_unix_ns, kOffset + kMono0 + 5 * kMs);
  ASSERT_EQ(short_span.events.size(), 1u);
  EXPECT_EQ(short_span.events[0].time_unix_ns, kOffset + kMono0 + 2 * kMs);
  EXPECT_EQ(child1.parent_span_id, short_span.span_id);
  EXPECT_EQ(child1.trace_id, short_span.trace_id);
  EXPECT_EQ(child1.depth, short_span.depth + 1);
  EXPECT_EQ(long_span.name, "HTTP GET " + long_uri);
  EXPECT_EQ(string_attr(long_span, "bpftrace_otel.incomplete"), "shutdown");
  EXPECT_EQ(child2.parent_span_id, long_span.span_id);
  EXPECT_EQ(child2.trace_id, long_span.trace_id);
}

INSTANTIATE_TEST_SUITE_P(Correlator, OpenSpanStorage, ::testing::Values(0, 1000000));

}  // namespace
}  // namespace bto
