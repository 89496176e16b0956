// Issue 17 items 1 (memory: one budget in bytes) and 4 (tables that fill for
// good), at the correlator and the tables it uses.

#include "spans/memory_budget.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "spans/attribute_keys.h"
#include "spans/event_gate.h"
#include "spans_test_util.h"

namespace bto::testing {
namespace {

// The harness with a budget behind its pool, as the pipeline builds it.
struct BudgetHarness {
  explicit BudgetHarness(size_t budget_bytes, CorrelatorOptions options = CorrelatorOptions())
      : budget(budget_bytes), pool(1024, &budget), registry(HandlerOptions{}) {
    register_builtin_handlers(registry);
    correlator = create_correlator(options, registry, pool, sink, converter, stats);
  }
  void feed(const TestEvent& event) { correlator->on_event(event.event()); }

  FakeClock clock;
  TimestampConverter converter{clock};
  MemoryBudget budget;
  SpanPool pool;
  HandlerRegistry registry;
  CollectingSink sink;
  CorrelatorStats stats;
  std::unique_ptr<Correlator> correlator;
};

TestEvent start_with_attributes(int id, int count, size_t value_bytes) {
  TestEvent event("attr_start", {{"request_id", id}});
  const std::string value(value_bytes, 'a');
  for (int k = 0; k < count; ++k) event.add("k" + std::to_string(k), value);
  return event;
}

TEST(MemoryOneBudget, open_spans_over_the_budget_evict_the_oldest_with_an_error) {
  BudgetHarness h(8 << 20);
  for (int i = 1; i <= 300; ++i) {
    h.feed(start_with_attributes(i, 120, 4000));
    // One span (about 490 KB) may take it over; the start that did so sheds the oldest.
    EXPECT_LE(h.budget.open_bytes(), h.budget.limit()) << i;
  }
  EXPECT_GT(h.stats.spans_evicted_memory, 270u);
  EXPECT_EQ(h.stats.spans_evicted, h.stats.spans_evicted_memory);
  EXPECT_EQ(h.stats.open_spans + h.stats.spans_evicted_memory, 300u);
  ASSERT_FALSE(h.sink.spans.empty());
  const SpanRecord& first = *h.sink.spans.front();
  EXPECT_EQ(first.status, StatusCode::kError);
  EXPECT_NE(first.status_message.find("max_memory"), std::string::npos);
  ASSERT_NE(attr(first, kIncompleteKey), nullptr);
  EXPECT_EQ(attr(first, kIncompleteKey)->string_value, "evicted");
  h.correlator->flush_all();
  EXPECT_EQ(h.budget.open_bytes(), 0u);  // every charge refunded
}

TEST(MemoryOneBudget, huge_span_names_and_status_messages_are_cut_and_keep_no_capacity) {
  BudgetHarness h(64 << 20);
  const std::string uri = "/" + std::string(900 * 1000, 'u');
  const std::string error(900 * 1000, 'e');
  for (int i = 1; i <= 300; ++i) {
    h.feed(TestEvent("http_request_start", {{"request_id", i}, {"method", "GET"}, {"uri", uri}}));
  }
  // 300 open spans: far below what 300 names of 900 KB would hold.
  EXPECT_LT(h.budget.open_bytes(), 300u * 64 * 1024);
  for (int i = 1; i <= 300; ++i) h.feed(TestEvent("http_request_end", {{"request_id", i}, {"error", error}}));
  ASSERT_EQ(h.sink.spans.size(), 300u);
  for (const SpanPtr& span : h.sink.spans) {
    EXPECT_LE(span->name.size(), kMaxSpanTextBytes);
    EXPECT_LE(span->name.capacity(), 2 * kMaxSpanTextBytes);
    EXPECT_LE(span->status_message.size(), kMaxSpanTextBytes);
    EXPECT_LE(span->status_message.capacity(), 2 * kMaxSpanTextBytes);
    EXPECT_LT(span_record_bytes(*span), 64u * 1024);
  }
  EXPECT_GE(h.stats.attribute_values_truncated, 600u);  // each name and each message counted
}

TEST(MemoryOneBudget, held_ends_count_against_the_budget) {
  BudgetHarness h(4 << 20);
  const std::string value(4000, 'v');
  for (int i = 1; i <= 100; ++i) {
    TestEvent end("attr_end", {{"request_id", i}});
    for (int k = 0; k < 120; ++k) end.add("k" + std::to_string(k), value);
    h.feed(end);
    EXPECT_LE(h.budget.used(), h.budget.limit() + 600 * 1024) << i;
  }
  h.correlator->flush_all();
  EXPECT_EQ(h.budget.open_bytes(), 0u);
}

TEST(MemoryOneBudget, pool_does_not_cache_what_the_budget_let_go) {
  MemoryBudget budget(64 << 20);
  SpanPool pool(1024, &budget);
  std::vector<SpanPtr> big;
  for (int i = 0; i < 50; ++i) {
    SpanPtr span = pool.acquire();
    for (int k = 0; k < 120; ++k) span->attributes.set_string("k" + std::to_string(k), std::string(4000, 'x'));
    big.push_back(std::move(span));
  }
  pool.release(std::span<SpanPtr>(big));
  // A record that held 490 KB is freed, not cached: the next one is fresh.
  SpanPtr again = pool.acquire();
  EXPECT_LE(span_record_bytes(*again), kMaxCachedRecordBytes);
}

TEST(MemoryOneBudget, event_names_over_the_cap_are_dropped_and_counted) {
  CollectingSink sink;
  FakeClock clock;
  TimestampConverter converter{clock};
  HandlerRegistry registry{HandlerOptions{}};
  register_builtin_handlers(registry);
  SpanPool pool;
  CorrelatorStats stats;
  auto correlator = create_correlator(CorrelatorOptions(), registry, pool, sink, converter, stats);
  EventGateStats gate_stats;
  EventGate gate(EventGateOptions{}, *correlator, gate_stats);
  const std::string longest(kMaxEventNameBytes - 6, 'f');
  gate.on_event(TestEvent(longest + "_start", {{"request_id", 1}}).event());
  gate.on_event(TestEvent(std::string(900 * 1000, 'f') + "_start", {{"request_id", 2}}).event());
  EXPECT_EQ(stats.spans_started, 1u);
  EXPECT_EQ(gate_stats.events_name_too_long, 1u);
}

// ---- issue 17.4: tables that fill for good

TEST(TablesFillForGood, builtin_families_are_reserved_and_unused_junk_ages_out) {
  CorrelatorOptions options;
  options.max_families = 16;
  Harness h(options);
  // 1100 junk families, each used once and ended: they age out (LRU).
  for (int i = 0; i < 1100; ++i) {
    h.feed(TestEvent("junk" + std::to_string(i) + "_start", {{"request_id", i}}));
    h.feed(TestEvent("junk" + std::to_string(i) + "_end", {{"request_id", i}}));
  }
  EXPECT_EQ(h.stats.families_rejected, 0u);
  EXPECT_EQ(h.stats.families_replaced, 1100u - 16u);
  // Junk families that stay in use (open spans) fill the table: the next new
  // junk family is refused and counted...
  for (int i = 0; i < 40; ++i) h.feed(TestEvent("open" + std::to_string(i) + "_start", {{"request_id", i}}));
  EXPECT_GT(h.stats.families_rejected, 0u);
  // ...and the built-in families still produce their spans.
  const size_t before = h.emitted();
  h.feed(TestEvent("http_request_start", {{"request_id", 7}, {"method", "GET"}, {"uri", "/x"}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 7}, {"status", 200}}));
  h.feed(TestEvent("tls_handshake_start", {{"request_id", 8}}));
  h.feed(TestEvent("tls_handshake_end", {{"request_id", 8}}));
  h.feed(TestEvent("net_dial_start", {{"request_id", 9}}));
  h.feed(TestEvent("net_dial_end", {{"request_id", 9}}));
  h.feed(TestEvent("request_start", {{"request_id", 10}}));
  h.feed(TestEvent("request_end", {{"request_id", 10}}));
  ASSERT_EQ(h.emitted(), before + 4);
  EXPECT_EQ(h.span(before).name, "HTTP GET /x");
  EXPECT_NE(attr(h.span(before), "http.method"), nullptr);
}

// The key store is process-wide and never forgets a key, so this runs in a
// child process (gtest death-test fork) and leaves this one's store alone.
TEST(TablesFillForGood, junk_keys_cannot_take_the_keys_of_builtin_families) {
  EXPECT_EXIT(
      {
        Harness h;
        // 17,000 distinct junk keys, as event fields.
        for (int i = 0; i < 17000; i += 100) {
          TestEvent event("junk_start", {{"request_id", i}});
          for (int k = i; k < i + 100; ++k) event.add("junk_key_" + std::to_string(k), 1);
          h.feed(event);
        }
        const bool refused = refused_attribute_key_count() > 0;
        h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"method", "GET"}, {"uri", "/x"}}));
        h.feed(TestEvent("http_request_end", {{"request_id", 1}, {"status", 503}}));
        const SpanRecord* http = h.sink.by_name("HTTP GET /x");
        const bool kept = http != nullptr && attr(*http, "http.method") != nullptr &&
                          attr(*http, "http.status_code") != nullptr && attr(*http, "http.url") != nullptr;
        // A key no test has used yet: our code's keys still find room, an
        // event's new field name does not.
        std::string_view out;
        const bool code_key_fits = intern_attribute_key("bto.test.reserved_key_17_4", out, KeySource::kCode);
        const bool junk_refused = !intern_attribute_key("bto.test.junk_key_17_4", out, KeySource::kEvent);
        std::exit(refused && kept && code_key_fits && junk_refused ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace bto::testing
