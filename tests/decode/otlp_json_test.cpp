#include "decode/otlp_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace bto {
namespace {

struct Collected final : RecordedSpanSink {
  struct Copy {
    RecordedSpan span;
    std::string name, service, scope;
    std::vector<std::pair<std::string, FieldValue>> attributes;
    std::vector<std::string> events;
  };
  std::vector<Copy> spans;
  void on_recorded_span(const RecordedResource& resource, const RecordedSpan& span) override {
    Copy copy{span, std::string(span.name), "", std::string(resource.scope_name), {}, {}};
    for (const EventField& f : resource.attributes) {
      if (f.key == "service.name") copy.service = std::string(f.value.string_value);
    }
    for (const EventField& f : span.attributes) copy.attributes.emplace_back(std::string(f.key), f.value);
    for (const RecordedEvent& e : span.events) copy.events.emplace_back(e.name);
    spans.push_back(std::move(copy));
  }
};

TEST(OtlpJsonReader, reads_every_field_the_encoding_allows) {
  const std::string line =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},)"
      R"("scopeSpans":[{"scope":{"name":"bpftrace-exporter","version":"1"},"spans":[)"
      R"({"traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"1112131415161718","parentSpanId":"2122232425262728",)"
      R"("name":"GET /x","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1700000000000000001","endTimeUnixNano":1700000000000000900,)"
      R"("attributes":[{"key":"s","value":{"stringValue":"v"}},{"key":"i","value":{"intValue":"-9007199254740993"}},)"
      R"({"key":"d","value":{"doubleValue":"NaN"}},{"key":"b","value":{"boolValue":true}},{"key":"k","value":{"kvlistValue":{"values":[]}}}],)"
      R"("droppedAttributesCount":3,"events":[{"timeUnixNano":"5","name":"retry","attributes":[]}],)"
      R"("links":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718"}],)"
      R"("status":{"code":"STATUS_CODE_ERROR","message":"boom"}},)"
      R"({"trace_id":"AQIDBAUGBwgJCgsMDQ4PEA==","span_id":"ERITFBUWFxg=","name":"proto names, base64 ids","kind":3,)"
      R"("start_time_unix_nano":"1","end_time_unix_nano":"2"}]}]}]})";
  OtlpJsonReader reader;
  Collected sink;
  std::string error;
  ASSERT_TRUE(reader.read_traces(line, false, sink, error)) << error;
  ASSERT_EQ(sink.spans.size(), 2u);
  const auto& first = sink.spans[0];
  EXPECT_EQ(first.span.trace_id[0], 1);
  EXPECT_EQ(first.span.trace_id[15], 0x10);
  EXPECT_EQ(first.span.parent_span_id[7], 0x28);
  EXPECT_EQ(first.span.kind, 2);
  EXPECT_EQ(first.span.status_code, 2);
  EXPECT_EQ(first.span.start_time_unix_ns, 1700000000000000001ull);
  EXPECT_EQ(first.span.end_time_unix_ns, 1700000000000000900ull);
  EXPECT_EQ(first.span.dropped_attributes, 3u);
  EXPECT_EQ(first.span.links, 1u);
  EXPECT_EQ(first.service, "checkout");
  EXPECT_EQ(first.scope, "bpftrace-exporter");
  ASSERT_EQ(first.attributes.size(), 5u);
  EXPECT_EQ(first.attributes[1].second.int_value, -9007199254740993LL);
  EXPECT_TRUE(std::isnan(first.attributes[2].second.double_value));
  EXPECT_TRUE(first.attributes[3].second.bool_value);
  EXPECT_EQ(first.events, std::vector<std::string>{"retry"});
  EXPECT_EQ(reader.values_as_json(), 1u);
  const auto& second = sink.spans[1];
  EXPECT_EQ(second.span.trace_id[15], 0x10);
  EXPECT_EQ(second.span.span_id[0], 0x11);
  EXPECT_EQ(second.span.kind, 3);
  EXPECT_EQ(otlp_line_kind(line), OtlpLineKind::kTraces);
  EXPECT_EQ(otlp_line_kind(R"(  { "resourceMetrics":[]})"), OtlpLineKind::kMetrics);
  EXPECT_EQ(otlp_line_kind(R"({"type":"value"})"), OtlpLineKind::kNone);
}

TEST(OtlpJsonReader, a_bad_span_rejects_the_whole_line) {
  OtlpJsonReader reader;
  Collected sink;
  std::string error;
  for (const std::string line :
       {R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01","spanId":"1112131415161718","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]})",
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718","startTimeUnixNano":"x","endTimeUnixNano":"2"}]}]}]})",
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"1112131415161718","startTimeUnixNano":"1","endTimeUnixNano":"2","kind":"SPAN_KIND_NOPE"}]}]}]})",
        R"({"resourceSpans":7})", R"({"resourceSpans":[)"}) {
    EXPECT_FALSE(reader.read_traces(line, false, sink, error)) << line;
    EXPECT_FALSE(error.empty());
  }
  EXPECT_TRUE(sink.spans.empty());
}

}  // namespace
}  // namespace bto
