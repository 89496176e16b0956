// An end held for its start (per-CPU reordering) must never pair with a start
// that came after it: one lost start would otherwise shift every later span
// of the same id (each span's own end held for the next start, 0-ns spans).
// The sequence is the one of issue #22.

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>

#include "spans_test_util.h"

namespace bto::testing {
namespace {

uint64_t duration_of(const SpanRecord& span) { return span.end_time_unix_ns - span.start_time_unix_ns; }

TEST(HeldEnd, a_held_end_never_pairs_with_a_later_start) {
  Harness h;
  // request_id 7: the first start was lost.
  const uint64_t at[] = {200, 300, 400, 500, 600, 700, 800};
  for (size_t i = 0; i < 7; ++i) {
    const char* name = i % 2 == 0 ? "job_end" : "job_start";
    h.feed(TestEvent(name, {{"request_id", 7}, {"timestamp", kMono0 + at[i]}}));
  }
  h.clock.advance(10 * kSecond);
  h.correlator->sweep();
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(duration_of(h.span(i)), 100u);
    EXPECT_EQ(h.span(i).start_time_unix_ns, kOffset + kMono0 + at[2 * i + 1]);
    EXPECT_EQ(attr(h.span(i), "bpftrace_otel.incomplete"), nullptr);
  }
  EXPECT_EQ(h.stats.spans_ended, 3u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 1u);  // the end at 200
  EXPECT_EQ(h.stats.spans_superseded, 0u);
  EXPECT_EQ(h.stats.spans_from_orphan_end, 0u);
  EXPECT_EQ(h.stats.open_spans, 0u);
}

TEST(HeldEnd, the_same_with_wall_clock_timestamps) {
  Harness h;
  const uint64_t at[] = {200, 300, 400, 500, 600, 700, 800};
  for (size_t i = 0; i < 7; ++i) {
    const char* name = i % 2 == 0 ? "job_end" : "job_start";
    h.feed(TestEvent(name, {{"request_id", "7"}, {"timestamp", kReal0 + at[i]}}));  // Unix ns: passed through
  }
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(duration_of(h.span(i)), 100u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 1u);
}

TEST(HeldEnd, a_held_end_with_a_duration_becomes_its_own_span_and_the_start_opens_anew) {
  Harness h;
  h.feed(TestEvent("job_end", {{"request_id", 7}, {"duration", 50}, {"timestamp", kMono0 + 200}}));
  h.feed(TestEvent("job_start", {{"request_id", 7}, {"timestamp", kMono0 + 300}}));
  h.feed(TestEvent("job_end", {{"request_id", 7}, {"timestamp", kMono0 + 420}}));
  h.clock.advance(10 * kSecond);
  h.correlator->sweep();
  h.correlator->flush_all();
  ASSERT_EQ(h.emitted(), 2u);
  uint64_t durations[2] = {duration_of(h.span(0)), duration_of(h.span(1))};
  std::sort(std::begin(durations), std::end(durations));
  EXPECT_EQ(durations[0], 50u);   // the orphan end, from its own duration
  EXPECT_EQ(durations[1], 120u);  // 300 -> 420
  EXPECT_EQ(h.stats.spans_from_orphan_end, 1u);
  EXPECT_EQ(h.stats.spans_ended, 1u);
}

TEST(HeldEnd, reordering_still_pairs_a_start_that_is_earlier_than_the_held_end) {
  Harness h;
  // The usual case: the end is read first, its start (earlier in time) next.
  h.feed(TestEvent("job_end", {{"request_id", 9}, {"timestamp", kMono0 + 500}}));
  h.feed(TestEvent("job_start", {{"request_id", 9}, {"timestamp", kMono0 + 300}}));
  ASSERT_EQ(h.emitted(), 1u);
  EXPECT_EQ(duration_of(h.span(0)), 200u);
  EXPECT_EQ(h.stats.spans_ended, 1u);
  EXPECT_EQ(h.stats.orphan_ends_dropped, 0u);
}

}  // namespace
}  // namespace bto::testing
