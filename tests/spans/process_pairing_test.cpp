// Events that name their process (`pid`): every span gets its process's
// resource, and request ids that repeat across processes of one binary are
// kept apart (pairing, parents, held ends), packed open spans included.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "allocation_counter.h"
#include "spans/correlator.h"
#include "spans/resource.h"
#include "spans_test_util.h"

namespace bto {
namespace {

using testing::FakeClock;
using testing::kMono0;
using testing::kMs;
using testing::TestEvent;

// A resource per pid, made on first sight (what src/resource/ does, minus /proc).
class FakeResolver final : public ResourceResolver {
 public:
  const ResourceRef& resource_of(int64_t pid) override {
    ++lookups;
    if (pid <= 0) return none_;
    ResourceRef& ref = by_pid_[pid];
    if (!ref) {
      auto r = std::make_unique<Resource>();
      r->pid = pid;
      r->attributes.set_int("process.pid", pid);
      ref = ResourceRef(std::move(r));
    }
    return ref;
  }
  size_t lookups = 0;

 private:
  std::map<int64_t, ResourceRef> by_pid_;
  const ResourceRef none_;
};

struct PidHarness {
  explicit PidHarness(CorrelatorOptions options = testing::packing_every_open_span()) : registry(HandlerOptions{}) {
    register_builtin_handlers(registry);
    correlator = create_correlator(options, registry, pool, sink, converter, stats, &resolver);
  }
  void feed(const TestEvent& event) { correlator->on_event(event.event()); }
  const SpanRecord* by_name(const std::string& name) const {
    for (const auto& s : sink.spans) {
      if (s->name == name) return s.get();
    }
    return nullptr;
  }
  int64_t pid_of(const SpanRecord& span) const { return span.resource ? span.resource->pid : 0; }

  FakeClock clock;
  TimestampConverter converter{clock};
  HandlerRegistry registry;
  SpanPool pool;
  testing::CollectingSink sink;
  CorrelatorStats stats;
  FakeResolver resolver;
  std::unique_ptr<Correlator> correlator;
};

TEST(ProcessPairing, same_request_id_in_two_processes_makes_two_spans) {
  PidHarness h;
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"method", "GET"}, {"uri", "/a"}, {"pid", 100}}));
  h.feed(TestEvent("http_request_start", {{"request_id", 1}, {"method", "GET"}, {"uri", "/b"}, {"pid", 200}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}, {"status_code", 500}, {"pid", 200}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 1}, {"status_code", 200}, {"pid", 100}}));
  ASSERT_EQ(h.sink.spans.size(), 2u);
  EXPECT_EQ(h.stats.spans_superseded, 0u);
  const SpanRecord* a = h.by_name("HTTP GET /a");
  const SpanRecord* b = h.by_name("HTTP GET /b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(h.pid_of(*a), 100);
  EXPECT_EQ(h.pid_of(*b), 200);
  EXPECT_EQ(a->attributes.find("http.status_code")->int_value, 200);
  EXPECT_EQ(b->attributes.find("http.status_code")->int_value, 500);
  // The pid is the resource's, not a span attribute.
  EXPECT_EQ(a->attributes.find("pid"), nullptr);
}

TEST(ProcessPairing, a_second_start_in_the_same_process_still_supersedes) {
  PidHarness h;
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"pid", 100}}));
  h.feed(TestEvent("request_start", {{"request_id", 1}, {"pid", 100}}));
  EXPECT_EQ(h.stats.spans_superseded, 1u);
}

TEST(ProcessPairing, an_event_without_pid_pairs_with_either_and_the_end_names_the_process) {
  PidHarness h;
  h.feed(TestEvent("request_start", {{"request_id", 7}, {"name", "x"}}));  // no pid
  h.feed(TestEvent("request_end", {{"request_id", 7}, {"pid", 300}}));
  ASSERT_EQ(h.sink.spans.size(), 1u);
  EXPECT_EQ(h.pid_of(*h.sink.spans[0]), 300);
  h.feed(TestEvent("request_start", {{"request_id", 8}, {"pid", 400}}));
  h.feed(TestEvent("request_end", {{"request_id", 8}}));  // no pid
  ASSERT_EQ(h.sink.spans.size(), 2u);
  EXPECT_EQ(h.pid_of(*h.sink.spans[1]), 400);
  h.feed(TestEvent("request", {{"request_id", 9}, {"duration", 5}}));  // names no process at all
  ASSERT_EQ(h.sink.spans.size(), 3u);
  EXPECT_FALSE(h.sink.spans[2]->resource);
}

TEST(ProcessPairing, children_find_the_parent_of_their_own_process) {
  PidHarness h;
  h.feed(TestEvent("http_request_start", {{"request_id", 5}, {"method", "GET"}, {"uri", "/p1"}, {"pid", 1}}));
  h.feed(TestEvent("http_request_start", {{"request_id", 5}, {"method", "GET"}, {"uri", "/p2"}, {"pid", 2}}));
  h.feed(TestEvent("request_start", {{"request_id", 50}, {"parent_id", 5}, {"name", "job1"}, {"pid", 1}}));
  h.feed(TestEvent("request_end", {{"request_id", 50}, {"pid", 1}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 5}, {"status_code", 200}, {"pid", 1}}));
  h.feed(TestEvent("http_request_end", {{"request_id", 5}, {"status_code", 200}, {"pid", 2}}));
  // A late child of process 2's request, after both ended: the ended memory
  // holds the latest id 5 (process 2's).
  h.feed(TestEvent("request", {{"request_id", 51}, {"parent_id", 5}, {"name", "late"}, {"duration", 1}, {"pid", 2}}));
  // ...and process 1's late child must not be linked to process 2's request.
  h.feed(TestEvent("request", {{"request_id", 52}, {"parent_id", 5}, {"name", "orphan"}, {"duration", 1}, {"pid", 1}}));
  const SpanRecord* p1 = h.by_name("HTTP GET /p1");
  const SpanRecord* p2 = h.by_name("HTTP GET /p2");
  ASSERT_EQ(h.sink.spans.size(), 5u);
  const SpanRecord* job = nullptr;
  const SpanRecord* late = nullptr;
  const SpanRecord* orphan = nullptr;
  for (const auto& s : h.sink.spans) {
    const Attribute* name = s->attributes.find("request.name");
    if (name == nullptr) name = s->attributes.find("name");
    if (name == nullptr) continue;
    if (name->string_value == "job1") job = s.get();
    if (name->string_value == "late") late = s.get();
    if (name->string_value == "orphan") orphan = s.get();
  }
  ASSERT_NE(job, nullptr);
  ASSERT_NE(late, nullptr);
  ASSERT_NE(orphan, nullptr);
  EXPECT_EQ(job->parent_span_id, p1->span_id);
  EXPECT_EQ(late->parent_span_id, p2->span_id);
  EXPECT_FALSE(orphan->has_parent());
  EXPECT_EQ(h.stats.parent_not_found, 1u);
}

TEST(ProcessPairing, packed_open_spans_keep_their_resource) {
  PidHarness h;  // every open span packed
  for (int64_t pid = 1; pid <= 3; ++pid) {
    h.feed(TestEvent("request_start", {{"request_id", 1}, {"name", "n"}, {"pid", pid}}));
  }
  for (int64_t pid = 3; pid >= 1; --pid) h.feed(TestEvent("request_end", {{"request_id", 1}, {"pid", pid}}));
  ASSERT_EQ(h.sink.spans.size(), 3u);
  EXPECT_EQ(h.pid_of(*h.sink.spans[0]), 3);
  EXPECT_EQ(h.pid_of(*h.sink.spans[1]), 2);
  EXPECT_EQ(h.pid_of(*h.sink.spans[2]), 1);
  // Given up at shutdown, too.
  h.feed(TestEvent("request_start", {{"request_id", 2}, {"pid", 9}}));
  h.correlator->flush_all();
  EXPECT_EQ(h.pid_of(*h.sink.spans.back()), 9);
}

TEST(ProcessPairing, an_end_held_for_its_start_pairs_within_its_process) {
  PidHarness h;
  h.feed(TestEvent("request_end", {{"request_id", 3}, {"pid", 20}}));  // before its start
  h.feed(TestEvent("request_start", {{"request_id", 3}, {"pid", 10}}));  // another process's: not paired
  EXPECT_TRUE(h.sink.spans.empty());
  h.feed(TestEvent("request_start", {{"request_id", 3}, {"pid", 20}}));
  h.feed(TestEvent("request_end", {{"request_id", 3}, {"pid", 10}}));
  ASSERT_EQ(h.sink.spans.size(), 2u);
  EXPECT_EQ(h.pid_of(*h.sink.spans[0]), 20);
  EXPECT_EQ(h.pid_of(*h.sink.spans[1]), 10);
}

TEST(ProcessPairing, steady_state_with_resources_allocates_nothing) {
#if !defined(BTO_COUNTS_ALLOCATIONS)
  GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
#endif
  FakeClock clock;
  TimestampConverter converter(clock);
  HandlerRegistry registry(HandlerOptions{});
  register_builtin_handlers(registry);
  SpanPool pool;
  testing::ReleasingSink sink(pool);
  CorrelatorStats stats;
  FakeResolver resolver;
  const auto correlator = create_correlator(CorrelatorOptions{}, registry, pool, sink, converter, stats, &resolver);
  std::vector<TestEvent> events;
  for (int id = 0; id < 64; ++id) {
    const int pid = 1000 + id % 8;
    events.push_back(TestEvent("http_request_start", {{"request_id", id % 16}, {"method", "GET"}, {"uri", "/x"},
                                                      {"tid", id}, {"pid", pid}, {"timestamp", kMono0 + 5}}));
    events.push_back(TestEvent("http_request_end",
                               {{"request_id", id % 16}, {"status_code", 200}, {"pid", pid}, {"timestamp", kMono0 + 9}}));
  }
  std::vector<Event> views;
  for (const TestEvent& event : events) views.push_back(event.event());
  for (int round = 0; round < 3; ++round) {
    for (const Event& event : views) correlator->on_event(event);
  }
  const uint64_t before = testing::allocations();
  for (int round = 0; round < 20; ++round) {
    for (const Event& event : views) correlator->on_event(event);
  }
  EXPECT_EQ(testing::allocations() - before, 0u);
  EXPECT_EQ(stats.spans_ended, 23u * 64);
  EXPECT_EQ(stats.spans_superseded, 0u);
}

}  // namespace
}  // namespace bto
