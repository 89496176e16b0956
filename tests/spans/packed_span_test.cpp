#include "spans/packed_span.h"

#include <gtest/gtest.h>

#include <string>

namespace bto {
namespace {

SpanRecord typical_start() {
  SpanRecord span;
  span.trace_id.fill(0xab);
  span.span_id.fill(0x01);
  span.parent_span_id.fill(0x02);
  span.name = "POST /api/items/200008";
  span.start_time_unix_ns = 1'700'000'000'123'456'789ULL;
  span.depth = 3;
  span.kind = SpanKind::kServer;
  span.status = StatusCode::kError;
  span.status_message = "boom";
  span.attributes.set_string("http.request.method", "POST");
  span.attributes.set_int("thread.id", -42);
  span.attributes.set_double("ratio", 0.25);
  span.attributes.set_bool("cached", true);
  span.attributes.set_dropped(7);
  return span;
}

TEST(PackedSpan, round_trips_every_field_and_attribute_type) {
  const SpanRecord span = typical_start();
  PackedSpan packed;
  ASSERT_TRUE(pack_open_span(span, packed));
  SpanRecord out;
  unpack_open_span(packed, out);
  EXPECT_EQ(out.trace_id, span.trace_id);
  EXPECT_EQ(out.span_id, span.span_id);
  EXPECT_EQ(out.parent_span_id, span.parent_span_id);
  EXPECT_EQ(out.name, span.name);
  EXPECT_EQ(out.status_message, "boom");
  EXPECT_EQ(out.start_time_unix_ns, span.start_time_unix_ns);
  EXPECT_EQ(out.depth, 3);
  EXPECT_EQ(out.kind, SpanKind::kServer);
  EXPECT_EQ(out.status, StatusCode::kError);
  EXPECT_EQ(out.attributes.dropped(), 7u);
  ASSERT_EQ(out.attributes.size(), 4u);
  EXPECT_EQ(out.attributes.find("http.request.method")->string_value, "POST");
  EXPECT_EQ(out.attributes.find("thread.id")->int_value, -42);
  EXPECT_DOUBLE_EQ(out.attributes.find("ratio")->double_value, 0.25);
  EXPECT_TRUE(out.attributes.find("cached")->bool_value);
  // Keys still view the one interned copy, so packing stores no key text.
  EXPECT_EQ(out.attributes.find("thread.id")->key.data(), span.attributes.find("thread.id")->key.data());
}

// kind, status and parent_remote share one byte of bit-fields: every value survives.
TEST(PackedSpan, round_trips_every_kind_status_and_remote_parent) {
  for (uint8_t kind = 0; kind <= 5; ++kind) {
    for (uint8_t status = 0; status <= 2; ++status) {
      for (const bool remote : {false, true}) {
        SpanRecord span = typical_start();
        span.kind = static_cast<SpanKind>(kind);
        span.status = static_cast<StatusCode>(status);
        span.parent_remote = remote;
        PackedSpan packed;
        ASSERT_TRUE(pack_open_span(span, packed));
        SpanRecord out;
        unpack_open_span(packed, out);
        EXPECT_EQ(out.kind, span.kind);
        EXPECT_EQ(out.status, span.status);
        EXPECT_EQ(out.parent_remote, remote);
        EXPECT_EQ(out.depth, 3);
      }
    }
  }
}

TEST(PackedSpan, keeps_the_truncation_mark_and_the_order) {
  SpanRecord span;
  span.attributes.set_limits(AttributeList::kUnlimited, 4);
  span.attributes.set_string("a", "abcdefgh");
  span.attributes.set_int("b", 1);
  PackedSpan packed;
  ASSERT_TRUE(pack_open_span(span, packed));
  SpanRecord out;
  unpack_open_span(packed, out);
  ASSERT_EQ(out.attributes.size(), 2u);
  EXPECT_EQ(out.attributes.items()[0].key, "a");
  EXPECT_EQ(out.attributes.items()[0].string_value, "abcd");
  EXPECT_TRUE(out.attributes.items()[0].truncated);
  EXPECT_EQ(out.attributes.truncated(), 1u);
  EXPECT_EQ(out.attributes.items()[1].key, "b");
}

TEST(PackedSpan, refuses_what_does_not_fit_so_the_full_record_is_kept) {
  SpanRecord span = typical_start();
  span.attributes.set_string("long", std::string(sizeof(PackedSpan::bytes), 'x'));
  PackedSpan packed;
  EXPECT_FALSE(pack_open_span(span, packed));

  SpanRecord many;
  for (int i = 0; i < 20; ++i) many.attributes.set_int("k" + std::to_string(i), i);
  EXPECT_FALSE(pack_open_span(many, packed));

  SpanRecord with_event = typical_start();
  with_event.events.emplace_back();
  EXPECT_FALSE(pack_open_span(with_event, packed));
}

TEST(PackedSpan, an_empty_record_packs_and_restores_empty) {
  SpanRecord span;
  PackedSpan packed;
  ASSERT_TRUE(pack_open_span(span, packed));
  SpanRecord out;
  out.attributes.set_limits(3, 10);
  unpack_open_span(packed, out);
  EXPECT_TRUE(out.name.empty());
  EXPECT_TRUE(out.attributes.empty());
  // The restored record keeps its own limits for what the end adds.
  for (int i = 0; i < 5; ++i) out.attributes.set_int("k" + std::to_string(i), i);
  EXPECT_EQ(out.attributes.size(), 3u);
  EXPECT_EQ(out.attributes.dropped(), 2u);
}

}  // namespace
}  // namespace bto
