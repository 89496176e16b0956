// tests/data/test-data.json end to end through the real decoder, handlers and
// correlator (fake clock): every expected span field and every counter.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "spans_test_util.h"

namespace bto {
namespace {

using testing::CollectingSink;
using testing::FakeClock;

std::string kind_name(SpanKind kind) {
  switch (kind) {
    case SpanKind::kInternal:
      return "internal";
    case SpanKind::kServer:
      return "server";
    case SpanKind::kClient:
      return "client";
    case SpanKind::kProducer:
      return "producer";
    case SpanKind::kConsumer:
      return "consumer";
    case SpanKind::kUnspecified:
      return "unspecified";
  }
  return "?";
}

std::string status_name(StatusCode status) {
  switch (status) {
    case StatusCode::kUnset:
      return "unset";
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kError:
      return "error";
  }
  return "?";
}

// Both sides rendered the same way, so a failure shows the two values.
std::string render(const Attribute& a) {
  switch (a.type) {
    case AttrType::kString:
      return "string:" + a.string_value;
    case AttrType::kInt:
      return "int:" + std::to_string(a.int_value);
    case AttrType::kDouble:
      return "double:" + std::to_string(a.double_value);
    case AttrType::kBool:
      return std::string("bool:") + (a.bool_value ? "true" : "false");
  }
  return "?";
}

std::string render(simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::STRING:
      return "string:" + std::string(std::string_view(value));
    case simdjson::dom::element_type::INT64:
      return "int:" + std::to_string(int64_t(value));
    case simdjson::dom::element_type::UINT64:
      return "int:" + std::to_string(uint64_t(value));
    case simdjson::dom::element_type::DOUBLE:
      return "double:" + std::to_string(double(value));
    case simdjson::dom::element_type::BOOL:
      return std::string("bool:") + (bool(value) ? "true" : "false");
    default:
      return "unsupported";
  }
}

std::map<std::string, std::string> actual_attributes(const AttributeList& list) {
  std::map<std::string, std::string> out;
  for (const Attribute& a : list.items()) out[std::string(a.key)] = render(a);
  return out;
}

std::map<std::string, std::string> expected_attributes(simdjson::dom::object object) {
  std::map<std::string, std::string> out;
  for (auto [key, value] : object) out[std::string(key)] = render(value);
  return out;
}

uint64_t u64(simdjson::dom::element value) { return value.get_uint64().value(); }
std::string text(simdjson::dom::element value) { return std::string(value.get_string().value()); }

uint64_t counter(const CorrelatorStats& stats, std::string_view name) {
  static const std::map<std::string_view, const std::atomic<uint64_t> CorrelatorStats::*> kCounters{
      {"spans_started", &CorrelatorStats::spans_started},
      {"spans_ended", &CorrelatorStats::spans_ended},
      {"spans_single", &CorrelatorStats::spans_single},
      {"span_events", &CorrelatorStats::span_events},
      {"span_events_dropped", &CorrelatorStats::span_events_dropped},
      {"spans_timed_out", &CorrelatorStats::spans_timed_out},
      {"spans_evicted", &CorrelatorStats::spans_evicted},
      {"spans_superseded", &CorrelatorStats::spans_superseded},
      {"spans_from_orphan_end", &CorrelatorStats::spans_from_orphan_end},
      {"orphan_ends_dropped", &CorrelatorStats::orphan_ends_dropped},
      {"orphan_ends_evicted", &CorrelatorStats::orphan_ends_evicted},
      {"missing_request_id", &CorrelatorStats::missing_request_id},
      {"parent_not_found", &CorrelatorStats::parent_not_found},
      {"flushed_at_shutdown", &CorrelatorStats::flushed_at_shutdown},
      {"open_spans", &CorrelatorStats::open_spans},
      {"lost_events", &CorrelatorStats::lost_events},
  };
  const auto it = kCounters.find(name);
  if (it == kCounters.end()) {
    ADD_FAILURE() << "unknown counter " << name;
    return 0;
  }
  return (stats.*(it->second)).load();
}

TEST(TestData, replay_produces_the_expected_spans) {
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.load(std::string(BTO_TEST_DATA_DIR) + "/test-data.json");

  FakeClock clock{u64(doc["clock"]["monotonic_ns"]), u64(doc["clock"]["realtime_ns"])};
  TimestampConverter converter(clock);
  const simdjson::dom::element opts = doc["options"];
  CorrelatorOptions options;
  options.max_open_spans = u64(opts["max_open_spans"]);
  options.span_timeout = std::chrono::nanoseconds(static_cast<int64_t>(u64(opts["span_timeout_ns"])));
  options.orphan_hold = std::chrono::nanoseconds(static_cast<int64_t>(u64(opts["orphan_hold_ns"])));
  options.max_held_orphans = u64(opts["max_held_orphans"]);
  HandlerRegistry registry(HandlerOptions{});
  register_builtin_handlers(registry);
  SpanPool pool;
  CollectingSink sink;
  CorrelatorStats stats;
  const auto correlator = create_correlator(options, registry, pool, sink, converter, stats);
  DecodeStats decode_stats;
  const auto decoder = create_decoder(DecodeOptions{}, decode_stats);

  for (simdjson::dom::element item : doc["input"].get_array()) {
    if (item.is_object()) {
      clock.advance(u64(item["advance_ns"]));
      correlator->sweep();
      continue;
    }
    const std::string_view text = item.get_string();
    std::vector<char> line(text.size() + kLinePadding, '\0');  // the decoder reads padding
    std::copy(text.begin(), text.end(), line.begin());
    decoder->decode_line(std::string_view(line.data(), text.size()), *correlator);
  }
  correlator->flush_all();

  const simdjson::dom::array expected = doc["expected_spans"].get_array();
  ASSERT_EQ(sink.spans.size(), expected.size());
  std::map<std::string, const SpanRecord*> by_label;
  std::map<std::string, std::string> parent_of;
  size_t index = 0;
  for (simdjson::dom::element want : expected) {
    const SpanRecord& got = *sink.spans[index++];
    const std::string label = text(want["label"]);
    SCOPED_TRACE("span " + label);
    by_label[label] = &got;
    EXPECT_EQ(got.name, text(want["name"]));
    EXPECT_EQ(kind_name(got.kind), text(want["kind"]));
    EXPECT_EQ(got.start_time_unix_ns, u64(want["start_unix_ns"]));
    EXPECT_EQ(got.end_time_unix_ns, u64(want["end_unix_ns"]));
    EXPECT_EQ(status_name(got.status), text(want["status"]));
    EXPECT_EQ(got.status_message, text(want["status_message"]));
    EXPECT_EQ(actual_attributes(got.attributes), expected_attributes(want["attributes"]));
    const simdjson::dom::array events = want["events"].get_array();
    ASSERT_EQ(got.events.size(), events.size());
    size_t e = 0;
    for (simdjson::dom::element event : events) {
      EXPECT_EQ(got.events[e].name, text(event["name"]));
      EXPECT_EQ(got.events[e].time_unix_ns, u64(event["time_unix_ns"]));
      EXPECT_EQ(actual_attributes(got.events[e].attributes), expected_attributes(event["attributes"]));
      ++e;
    }
    if (!want["parent"].is_null()) parent_of[label] = text(want["parent"]);
  }

  // Parents: same trace, parent's span id, depth one more; roots have their own traces.
  std::vector<const SpanRecord*> roots;
  for (const auto& [label, span] : by_label) {
    SCOPED_TRACE("span " + label);
    const auto parent = parent_of.find(label);
    if (parent == parent_of.end()) {
      EXPECT_FALSE(span->has_parent());
      EXPECT_EQ(span->depth, 0);
      roots.push_back(span);
      continue;
    }
    ASSERT_TRUE(by_label.count(parent->second)) << parent->second;
    const SpanRecord& p = *by_label[parent->second];
    EXPECT_EQ(span->trace_id, p.trace_id);
    EXPECT_EQ(span->parent_span_id, p.span_id);
    EXPECT_EQ(span->depth, p.depth + 1);
  }
  for (size_t i = 0; i < roots.size(); ++i) {
    for (size_t j = i + 1; j < roots.size(); ++j) EXPECT_NE(roots[i]->trace_id, roots[j]->trace_id);
  }

  for (auto [name, value] : doc["expected_counters"].get_object()) {
    EXPECT_EQ(counter(stats, name), u64(value)) << name;
  }
  const simdjson::dom::element decode = doc["expected_decode"];
  EXPECT_EQ(decode_stats.malformed_total(), u64(decode["malformed_total"]));
  EXPECT_EQ(decode_stats.lost_events.load(), u64(decode["lost_events"]));
}

}  // namespace
}  // namespace bto
