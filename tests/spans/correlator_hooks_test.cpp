// The correlator's extension hooks: handler-chosen key fields and the span
// observer that sees spans before sampling.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spans/correlator.h"
#include "spans/handlers/field_util.h"
#include "spans/span_observer.h"
#include "spans_test_util.h"

namespace bto {
namespace {

using testing::FakeClock;
using testing::kMono0;
using testing::kMs;
using testing::TestEvent;

// Pairs "conn_*" events on (pid, fd), names spans after the family.
class ConnectionHandler final : public EventHandler {
 public:
  bool can_handle(std::string_view family) const override { return family == "conn"; }
  void on_start(const Event& event, SpanRecord& span) override {
    span.name = "conn";
    for (const EventField& field : event.fields) handler_util::set_attribute(span.attributes, field.key, field.value);
  }
  void on_end(const Event&, SpanRecord&) override {}
  std::span<const std::string> key_fields() const noexcept override { return keys_; }

 private:
  std::vector<std::string> keys_{"pid", "fd"};
};

class RecordingObserver final : public SpanObserver {
 public:
  void on_span_finished(std::string_view family, const SpanRecord& span) noexcept override {
    seen.push_back(std::string(family) + ":" + span.name);
  }
  std::vector<std::string> seen;
};

struct HookHarness {
  explicit HookHarness(CorrelatorOptions options = {}) : registry(HandlerOptions{}) {
    registry.add(std::make_unique<ConnectionHandler>());
    register_builtin_handlers(registry);
    correlator = create_correlator(options, registry, pool, sink, converter, stats);
    correlator->set_observer(&observer);
  }
  void feed(const TestEvent& event) { correlator->on_event(event.event()); }

  FakeClock clock;
  TimestampConverter converter{clock};
  HandlerRegistry registry;
  SpanPool pool;
  testing::CollectingSink sink;
  CorrelatorStats stats;
  RecordingObserver observer;
  std::unique_ptr<Correlator> correlator;
};

TEST(CorrelatorHooks, key_fields_pair_on_every_listed_field) {
  HookHarness h;
  h.feed(TestEvent("conn_start", {{"pid", 10}, {"fd", 3}, {"timestamp", kMono0}}));
  h.feed(TestEvent("conn_start", {{"pid", 11}, {"fd", 3}, {"timestamp", kMono0 + kMs}}));
  h.feed(TestEvent("conn_end", {{"pid", 11}, {"fd", 3}, {"timestamp", kMono0 + 5 * kMs}}));
  ASSERT_EQ(h.sink.spans.size(), 1u);
  EXPECT_EQ(h.sink.spans[0]->attributes.find("pid")->int_value, 11);
  EXPECT_EQ(h.sink.spans[0]->end_time_unix_ns - h.sink.spans[0]->start_time_unix_ns, 4 * kMs);
  EXPECT_EQ(h.stats.open_spans, 1u);
  // "10" as a string is the same key as 10, as with request_id.
  h.feed(TestEvent("conn_end", {{"pid", "10"}, {"fd", 3}, {"timestamp", kMono0 + 9 * kMs}}));
  ASSERT_EQ(h.sink.spans.size(), 2u);
  EXPECT_EQ(h.stats.open_spans, 0u);
  EXPECT_EQ(h.stats.spans_ended, 2u);
}

TEST(CorrelatorHooks, key_fields_ignore_request_id_and_require_every_field) {
  HookHarness h;
  h.feed(TestEvent("conn_start", {{"request_id", 1}, {"pid", 10}}));  // no fd
  EXPECT_EQ(h.stats.missing_request_id, 1u);
  EXPECT_EQ(h.stats.open_spans, 0u);
  h.feed(TestEvent("conn_start", {{"request_id", 1}, {"pid", 10}, {"fd", 4}}));
  h.feed(TestEvent("conn_end", {{"request_id", 2}, {"pid", 10}, {"fd", 4}}));
  EXPECT_EQ(h.sink.spans.size(), 1u);
}

TEST(CorrelatorHooks, families_without_key_fields_still_use_request_id) {
  HookHarness h;
  // fd differs: it is a key field of conn_*, not of request_* (pid is the
  // process, which must match: tests/spans/process_pairing_test.cpp).
  h.feed(TestEvent("request_start", {{"request_id", 5}, {"pid", 1}, {"fd", 2}}));
  h.feed(TestEvent("request_end", {{"request_id", 5}, {"pid", 1}, {"fd", 9}}));
  EXPECT_EQ(h.sink.spans.size(), 1u);
}

TEST(CorrelatorHooks, observer_sees_every_span_before_sampling) {
  CorrelatorOptions options;
  options.sampler.kind = SamplerKind::kAlwaysOff;
  options.max_open_spans = 1;
  HookHarness h(options);
  h.feed(TestEvent("conn_start", {{"pid", 1}, {"fd", 1}}));
  h.feed(TestEvent("conn_end", {{"pid", 1}, {"fd", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 1}}));
  h.feed(TestEvent("request_start", {{"request_id", 2}}));  // evicts request 1
  h.feed(TestEvent("db_query", {{"duration", 1000}}));      // single span
  h.correlator->flush_all();                                // request 2 at shutdown
  EXPECT_TRUE(h.sink.spans.empty());
  EXPECT_EQ(h.stats.spans_sampled_out, 4u);
  ASSERT_EQ(h.observer.seen.size(), 4u);
  EXPECT_EQ(h.observer.seen[0], "conn:conn");
  EXPECT_EQ(h.observer.seen[1].substr(0, 8), "request:");
  EXPECT_EQ(h.observer.seen[2], "db_query:db_query");
  EXPECT_EQ(h.observer.seen[3].substr(0, 8), "request:");
}

TEST(CorrelatorHooks, observer_sees_orphan_end_spans_with_their_family) {
  CorrelatorOptions options;
  options.orphan_hold = std::chrono::milliseconds(0);
  HookHarness h(options);
  h.feed(TestEvent("conn_end", {{"pid", 1}, {"fd", 1}, {"duration", 500}}));
  h.correlator->sweep();
  ASSERT_EQ(h.observer.seen.size(), 1u);
  EXPECT_EQ(h.observer.seen[0].substr(0, 5), "conn:");
  EXPECT_EQ(h.stats.spans_from_orphan_end, 1u);
}

}  // namespace
}  // namespace bto
