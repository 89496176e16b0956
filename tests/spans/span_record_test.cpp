#include "spans/span_record.h"

#include <gtest/gtest.h>

namespace bto {
namespace {

TEST(AttributeList, set_appends_then_overwrites_by_key) {
  AttributeList list;
  list.set_string("a", "x");
  list.set_int("b", 2);
  list.set_string("a", "y");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.items()[0].key, "a");
  EXPECT_EQ(list.items()[0].string_value, "y");
  EXPECT_EQ(list.find("b")->int_value, 2);
  list.set_double("b", 1.5);  // type can change
  EXPECT_EQ(list.find("b")->type, AttrType::kDouble);
  EXPECT_DOUBLE_EQ(list.find("b")->double_value, 1.5);
  list.set_bool("c", true);
  EXPECT_TRUE(list.find("c")->bool_value);
  EXPECT_EQ(list.find("missing"), nullptr);
}

TEST(AttributeList, remove_keeps_order) {
  AttributeList list;
  list.set_int("a", 1);
  list.set_int("b", 2);
  list.set_int("c", 3);
  EXPECT_TRUE(list.remove("b"));
  EXPECT_FALSE(list.remove("b"));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.items()[0].key, "a");
  EXPECT_EQ(list.items()[1].key, "c");
  list.set_int("d", 4);
  EXPECT_EQ(list.items()[2].key, "d");
  EXPECT_EQ(list.find("d")->int_value, 4);
}

TEST(AttributeList, clear_keeps_slot_capacity) {
  AttributeList list;
  const std::string long_value(200, 'v');
  list.set_string("key", long_value);
  const char* storage = list.items()[0].string_value.data();
  list.clear();
  EXPECT_TRUE(list.empty());
  list.set_string("other", "short");
  EXPECT_EQ(list.items()[0].string_value.data(), storage);  // same buffer reused
  EXPECT_EQ(list.items()[0].key, "other");
}

TEST(SpanRecord, reset_returns_to_fresh_state) {
  SpanRecord span;
  span.trace_id[0] = 1;
  span.span_id[0] = 2;
  span.parent_span_id[7] = 3;
  span.name = "n";
  span.kind = SpanKind::kServer;
  span.start_time_unix_ns = 1;
  span.end_time_unix_ns = 2;
  span.status = StatusCode::kError;
  span.status_message = "bad";
  span.attributes.set_int("a", 1);
  span.dropped_attributes_count = 3;
  span.events.emplace_back();
  span.depth = 4;
  EXPECT_TRUE(span.has_parent());
  span.reset();
  const SpanRecord fresh;
  EXPECT_EQ(span.trace_id, fresh.trace_id);
  EXPECT_EQ(span.span_id, fresh.span_id);
  EXPECT_FALSE(span.has_parent());
  EXPECT_TRUE(span.name.empty());
  EXPECT_EQ(span.kind, SpanKind::kInternal);
  EXPECT_EQ(span.start_time_unix_ns, 0u);
  EXPECT_EQ(span.end_time_unix_ns, 0u);
  EXPECT_EQ(span.status, StatusCode::kUnset);
  EXPECT_TRUE(span.status_message.empty());
  EXPECT_TRUE(span.attributes.empty());
  EXPECT_EQ(span.dropped_attributes_count, 0u);
  EXPECT_TRUE(span.events.empty());
  EXPECT_EQ(span.depth, 0);
}

TEST(SpanRecord, to_hex_is_lowercase_and_full_length) {
  const TraceId trace{0x00, 0x01, 0xab, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x0f};
  EXPECT_EQ(to_hex(trace), "0001abff00000000000000000000100f");
  const SpanId span{0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3};
  EXPECT_EQ(to_hex(span), "deadbeef00010203");
  EXPECT_EQ(to_hex(std::span<const uint8_t>()), "");
}

}  // namespace
}  // namespace bto
