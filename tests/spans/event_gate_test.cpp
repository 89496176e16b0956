// EventGate: the --pid filter on the event's pid field (uprobes on shared
// libraries and tracepoints fire in every process) and the warning for a
// family whose ends come without any start.

#include "spans/event_gate.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>
#include <vector>

namespace bto {
namespace {

struct Recorder : EventSink {
  std::vector<std::string> names;
  uint64_t lost = 0;
  void on_event(const Event& event) override { names.emplace_back(event.name); }
  void on_lost_events(uint64_t count) override { lost += count; }
};

int64_t g_now_ns = 0;
int64_t fake_now() { return g_now_ns; }

struct Ev {
  std::string name;
  std::vector<EventField> fields;
  Event view() const {
    Event e;
    e.name = name;
    const NameParts parts = split_event_name(name);
    e.family = parts.family;
    e.phase = parts.phase;
    e.fields = fields;
    return e;
  }
};

EventField int_field(std::string_view key, int64_t v) {
  EventField f;
  f.key = key;
  f.value.type = ValueType::kInt;
  f.value.int_value = v;
  return f;
}
EventField str_field(std::string_view key, std::string_view v) {
  EventField f;
  f.key = key;
  f.value.type = ValueType::kString;
  f.value.string_value = v;
  return f;
}

// Captures spdlog output for the duration of a test.
struct LogCapture {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  LogCapture() {
    auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  size_t count(const std::string& needle) const {
    const std::string text = out.str();
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }
};

TEST(EventGate, pid_filter_drops_and_counts_events_of_other_processes) {
  Recorder next;
  EventGateStats stats;
  EventGate gate({.target_pid = 100}, next, stats, &fake_now);
  const Ev mine{"http_client_start", {int_field("request_id", 1), int_field("pid", 100)}};
  const Ev other{"http_client_start", {int_field("request_id", 2), int_field("pid", 200)}};
  const Ev other_text{"http_client_end", {int_field("request_id", 2), str_field("pid", "200")}};
  const Ev mine_text{"http_client_end", {int_field("request_id", 1), str_field("pid", "100")}};
  const Ev no_pid{"job_start", {int_field("request_id", 3)}};
  for (const Ev* e : {&mine, &other, &other_text, &mine_text, &no_pid}) gate.on_event(e->view());
  EXPECT_EQ(next.names, (std::vector<std::string>{"http_client_start", "http_client_end", "job_start"}));
  EXPECT_EQ(stats.events_other_pid.load(), 2u);
  gate.on_lost_events(5);
  EXPECT_EQ(next.lost, 5u);
}

TEST(EventGate, without_target_pid_every_process_passes) {
  Recorder next;
  EventGateStats stats;
  EventGate gate({.target_pid = 0}, next, stats, &fake_now);
  for (int pid : {1, 2, 3}) {
    const Ev e{"x_start", {int_field("request_id", pid), int_field("pid", pid)}};
    gate.on_event(e.view());
  }
  EXPECT_EQ(next.names.size(), 3u);
  EXPECT_EQ(stats.events_other_pid.load(), 0u);
}

TEST(EventGate, a_pid_that_is_not_a_number_is_not_filtered) {
  Recorder next;
  EventGateStats stats;
  EventGate gate({.target_pid = 100}, next, stats, &fake_now);
  const Ev odd{"x_start", {int_field("request_id", 1), str_field("pid", "abc")}};
  gate.on_event(odd.view());
  EXPECT_EQ(next.names.size(), 1u);
  EXPECT_EQ(stats.events_other_pid.load(), 0u);
}

TEST(EventGate, ends_without_any_start_warn_once_after_the_grace) {
  LogCapture log;
  Recorder next;
  EventGateStats stats;
  g_now_ns = 1'000'000'000;
  EventGate gate({.start_grace = std::chrono::seconds(2)}, next, stats, &fake_now);
  const Ev end{"python_call_end", {int_field("request_id", 0)}};
  for (int i = 0; i < 400; ++i) gate.on_event(end.view());
  gate.check_families();
  EXPECT_EQ(stats.families_without_start.load(), 0u);  // within the grace: a start may still come
  g_now_ns += 2'000'000'001;
  gate.on_event(end.view());
  gate.check_families();
  gate.check_families();
  gate.check_families(/*final=*/true);
  EXPECT_EQ(stats.families_without_start.load(), 1u);
  EXPECT_EQ(log.count("family 'python_call': 401 end event(s) and no 'python_call_start'"), 1u) << log.out.str();
  EXPECT_EQ(log.count("gh-98894"), 1u);
  EXPECT_EQ(log.count("semaphore"), 1u);
  EXPECT_EQ(next.names.size(), 401u);  // the events still go on (orphans are the correlator's business)
}

TEST(EventGate, a_start_within_the_grace_means_no_warning) {
  LogCapture log;
  Recorder next;
  EventGateStats stats;
  g_now_ns = 0;
  EventGate gate({.start_grace = std::chrono::seconds(2)}, next, stats, &fake_now);
  const Ev end{"job_end", {int_field("request_id", 1)}};
  const Ev start{"job_begin", {int_field("request_id", 1)}};
  gate.on_event(end.view());  // per-CPU reordering: the end first
  gate.on_event(start.view());
  g_now_ns += 10'000'000'000;
  gate.check_families(/*final=*/true);
  EXPECT_EQ(stats.families_without_start.load(), 0u);
  EXPECT_EQ(log.count("no 'job_start'"), 0u);
}

TEST(EventGate, end_of_input_warns_without_waiting_and_single_events_never_count) {
  LogCapture log;
  Recorder next;
  EventGateStats stats;
  g_now_ns = 0;
  EventGate gate({}, next, stats, &fake_now);
  const Ev single{"cache_miss", {int_field("duration", 5)}};
  const Ev end{"tls_handshake_end", {int_field("request_id", 9)}};
  gate.on_event(single.view());
  gate.on_event(end.view());
  gate.check_families(/*final=*/true);
  EXPECT_EQ(stats.families_without_start.load(), 1u);
  EXPECT_EQ(log.count("family 'tls_handshake'"), 1u);
  EXPECT_EQ(log.count("cache_miss"), 0u);
}

TEST(EventGate, families_watched_are_bounded) {
  Recorder next;
  EventGateStats stats;
  EventGate gate({.max_families = 3}, next, stats, &fake_now);
  std::vector<std::string> names;
  for (int i = 0; i < 100; ++i) names.push_back("f" + std::to_string(i) + "_end");
  for (const std::string& name : names) {
    const Ev end{name, {int_field("request_id", 1)}};
    gate.on_event(end.view());
  }
  EXPECT_EQ(next.names.size(), 100u);  // every event still delivered
  gate.check_families(/*final=*/true);
  EXPECT_EQ(stats.families_without_start.load(), 3u);  // only the watched ones
}

}  // namespace
}  // namespace bto
