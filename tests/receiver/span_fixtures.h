#pragma once
// Spans exercising every field kind, and checks of what the receiver decoded.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "export/span_exporter.h"
#include "spans/span_record.h"
#include "test_receiver.h"

namespace bto::testing {

struct SpanBatch {
  std::vector<std::unique_ptr<SpanRecord>> owned;
  std::vector<const SpanRecord*> pointers;
  std::span<const SpanRecord* const> view() const { return pointers; }
};

inline SpanBatch make_spans(size_t count, uint8_t seed = 1) {
  SpanBatch batch;
  for (size_t i = 0; i < count; ++i) {
    auto s = std::make_unique<SpanRecord>();
    for (size_t b = 0; b < s->trace_id.size(); ++b) s->trace_id[b] = static_cast<uint8_t>(seed * 31 + b * 7 + i / 4);
    for (size_t b = 0; b < s->span_id.size(); ++b) s->span_id[b] = static_cast<uint8_t>(seed + b * 13 + i);
    s->span_id[0] = static_cast<uint8_t>(i >> 8);
    s->span_id[7] = static_cast<uint8_t>(i);
    s->span_id[6] = seed;
    if (i % 2 == 1) s->parent_span_id = batch.owned.back()->span_id;
    s->name = i % 7 == 3 ? "quote\" back\\slash\nnewline \x01 ctl \xc3\xbc\xe2\x82\xac" : "span-" + std::to_string(i);
    s->kind = static_cast<SpanKind>(i % 6);
    s->start_time_unix_ns = 1'700'000'000'000'000'000ULL + i * 1'000'003ULL;
    s->end_time_unix_ns = s->start_time_unix_ns + 12'345 + i;
    s->attributes.set_string("http.method", "GET");
    s->attributes.set_string("db.statement", i % 3 == 0 ? "" : "SELECT \"x\" FROM t WHERE a = '\\t'\t;");
    s->attributes.set_int("thread.id", static_cast<int64_t>(i) - 3);
    s->attributes.set_int("big", i % 2 == 0 ? INT64_MAX : INT64_MIN);
    s->attributes.set_int("zero", 0);
    s->attributes.set_bool("error", i % 2 == 0);
    s->attributes.set_double("ratio", 0.1 * static_cast<double>(i) - 1.5);
    s->attributes.set_double("tiny", 1e-300);
    s->dropped_attributes_count = static_cast<uint32_t>(i % 3);
    for (size_t e = 0; e < i % 3; ++e) {
      SpanEventRecord event;
      event.name = "event-" + std::to_string(e);
      event.time_unix_ns = s->start_time_unix_ns + 100 * (e + 1);
      event.attributes.set_string("exception.message", "boom \"" + std::to_string(e) + "\"");
      event.attributes.set_int("n", static_cast<int64_t>(e));
      s->events.push_back(std::move(event));
    }
    s->status = static_cast<StatusCode>(i % 3);
    if (s->status == StatusCode::kError) s->status_message = "failed: code " + std::to_string(i);
    batch.pointers.push_back(s.get());
    batch.owned.push_back(std::move(s));
  }
  return batch;
}

inline void expect_attributes(const AttributeList& sent, const std::vector<ReceivedAttribute>& got,
                              const std::string& where) {
  ASSERT_EQ(sent.size(), got.size()) << where;
  for (size_t i = 0; i < got.size(); ++i) {
    const Attribute& a = sent.items()[i];
    const ReceivedAttribute& r = got[i];
    EXPECT_EQ(a.key, r.key) << where;
    switch (a.type) {
      case AttrType::kString:
        EXPECT_EQ("string", r.type) << where << " " << a.key;
        EXPECT_EQ(a.string_value, r.value) << where << " " << a.key;
        break;
      case AttrType::kBool:
        EXPECT_EQ("bool", r.type) << where << " " << a.key;
        EXPECT_EQ(a.bool_value ? "true" : "false", r.value) << where << " " << a.key;
        break;
      case AttrType::kInt:
        EXPECT_EQ("int", r.type) << where << " " << a.key;
        EXPECT_EQ(std::to_string(a.int_value), r.value) << where << " " << a.key;
        break;
      case AttrType::kDouble:
        EXPECT_EQ("double", r.type) << where << " " << a.key;
        EXPECT_EQ(a.double_value, std::strtod(r.value.c_str(), nullptr)) << where << " " << a.key;
        break;
    }
  }
}

// received == sent: same set of spans (by id), every field equal, no extras.
inline void expect_received_exactly(const SpanBatch& sent, const Received& got, const ResourceInfo& resource) {
  EXPECT_TRUE(got.errors.empty()) << (got.errors.empty() ? "" : got.errors.front());
  EXPECT_EQ(0, got.duplicates);
  ASSERT_EQ(sent.owned.size(), got.spans.size());
  std::map<std::string, const ReceivedSpan*> by_id;
  for (const ReceivedSpan& r : got.spans) by_id[r.trace_id + r.span_id] = &r;
  ASSERT_EQ(sent.owned.size(), by_id.size());
  for (const auto& s : sent.owned) {
    const std::string id = to_hex(s->trace_id) + to_hex(s->span_id);
    auto it = by_id.find(id);
    ASSERT_NE(it, by_id.end()) << "span " << id << " not received";
    const ReceivedSpan& r = *it->second;
    EXPECT_EQ(s->has_parent() ? to_hex(s->parent_span_id) : "", r.parent_span_id) << id;
    EXPECT_EQ(s->name, r.name) << id;
    EXPECT_EQ(static_cast<int>(s->kind), r.kind) << id;
    EXPECT_EQ(s->start_time_unix_ns, r.start) << id;
    EXPECT_EQ(s->end_time_unix_ns, r.end) << id;
    expect_attributes(s->attributes, r.attributes, id);
    EXPECT_EQ(s->dropped_attributes_count, r.dropped_attributes_count) << id;
    ASSERT_EQ(s->events.size(), r.events.size()) << id;
    for (size_t e = 0; e < r.events.size(); ++e) {
      EXPECT_EQ(s->events[e].name, r.events[e].name) << id;
      EXPECT_EQ(s->events[e].time_unix_ns, r.events[e].time) << id;
      expect_attributes(s->events[e].attributes, r.events[e].attributes, id + " event");
    }
    EXPECT_TRUE(r.has_status) << id;
    EXPECT_EQ(static_cast<int>(s->status), r.status_code) << id;
    EXPECT_EQ(s->status_message, r.status_message) << id;
    expect_attributes(resource.attributes, r.resource, id + " resource");
    EXPECT_EQ(resource.scope_name, r.scope_name) << id;
    EXPECT_EQ(resource.scope_version, r.scope_version) << id;
  }
}

}  // namespace bto::testing
