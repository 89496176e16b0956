// Encoder output pinned to bytes produced by the official protobuf library
// (python3-protobuf with the official .proto files); the receiver tests check
// arbitrary batches against the schema end to end.

#include <gtest/gtest.h>
#include <zlib.h>

#include "export/http_transport.h"
#include "export/otlp_encoder.h"
#include "export/resource_groups.h"
#include "span_fixtures.h"

namespace bto::testing {
namespace {

std::string hex(std::string_view bytes) {
  return to_hex({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

struct Golden {
  ResourceInfo resource;
  SpanRecord full;
  SpanRecord root;
  std::vector<const SpanRecord*> spans;

  Golden() {
    resource.attributes.set_string("service.name", "svc");
    resource.scope_name = "bpftrace-exporter";
    resource.scope_version = "0.1.0";
    for (uint8_t i = 0; i < 16; ++i) full.trace_id[i] = static_cast<uint8_t>(i + 1);
    for (uint8_t i = 0; i < 8; ++i) full.span_id[i] = static_cast<uint8_t>(0xa1 + i);
    for (uint8_t i = 0; i < 8; ++i) full.parent_span_id[i] = static_cast<uint8_t>(0xb1 + i);
    full.name = "GET /x";
    full.kind = SpanKind::kServer;
    full.start_time_unix_ns = 1000000000000000001ULL;
    full.end_time_unix_ns = 1000000000000000002ULL;
    full.attributes.set_string("s", "v");
    full.attributes.set_bool("b", true);
    full.attributes.set_int("i", -1);
    full.attributes.set_double("d", 1.5);
    full.dropped_attributes_count = 2;
    SpanEventRecord event;
    event.name = "e";
    event.time_unix_ns = 5;
    event.attributes.set_string("k", "x");
    full.events.push_back(std::move(event));
    full.status = StatusCode::kError;
    full.status_message = "boom";
    root.trace_id.fill(0xff);
    root.span_id.fill(0xee);
    root.name = "root";
    root.kind = SpanKind::kInternal;
    root.start_time_unix_ns = 1;
    root.end_time_unix_ns = 2;
    root.attributes.set_bool("f", false);
    root.attributes.set_int("z", 0);
    spans = {&full, &root};
  }
};

TEST(OtlpProtobufEncoder, matches_the_official_library_byte_for_byte) {
  Golden g;
  std::string out;
  encode_otlp_protobuf(g.resource, g.spans, out);
  EXPECT_EQ(
      "0aa2020a170a150a0c736572766963652e6e616d6512050a037376631286020a1a0a1162706674726163652d6578706f72"
      "7465721205302e312e30129b010a100102030405060708090a0b0c0d0e0f101208a1a2a3a4a5a6a7a82208b1b2b3b4b5"
      "b6b7b82a06474554202f78300239010064a7b3b6e00d41020064a7b3b6e00d4a080a017312030a01764a070a01621202"
      "10014a100a0169120b18ffffffffffffffffff014a0e0a0164120921000000000000f83f50025a160905000000000000"
      "001201651a080a016b12030a01787a081204626f6f6d1802124a0a10ffffffffffffffffffffffffffffffff1208eeee"
      "eeeeeeeeeeee2a04726f6f7430013901000000000000004102000000000000004a070a0166120210004a070a017a1202"
      "18007a00",
      hex(out));
}

// Two processes' spans: one ResourceSpans each, the string[] attribute as an
// ArrayValue. Bytes from the official library (tests/receiver/README: the
// same construction in Python, SerializeToString(deterministic=True)).
TEST(OtlpProtobufEncoder, one_resource_spans_per_process_byte_for_byte) {
  ResourceInfo own;
  own.attributes.set_string("service.name", "svc");
  own.scope_name = "bpftrace-exporter";
  own.scope_version = "0.1.0";
  auto process = std::make_unique<Resource>();
  process->pid = 7;
  process->attributes.set_string("service.name", "a");
  process->attributes.set_int("process.pid", 7);
  process->arrays.push_back({"process.command_args", {"x", "--y", ""}});
  SpanRecord a;
  for (uint8_t i = 0; i < 16; ++i) a.trace_id[i] = static_cast<uint8_t>(i + 1);
  for (uint8_t i = 0; i < 8; ++i) a.span_id[i] = static_cast<uint8_t>(0xa1 + i);
  a.name = "a-span";
  a.kind = SpanKind::kServer;
  a.start_time_unix_ns = 10;
  a.end_time_unix_ns = 20;
  a.resource = ResourceRef(std::move(process));
  SpanRecord b;
  b.trace_id.fill(0xff);
  b.span_id.fill(0xee);
  b.name = "own";
  b.start_time_unix_ns = 1;
  b.end_time_unix_ns = 2;
  const SpanRecord* spans[] = {&a, &b};
  std::string out;
  encode_otlp_protobuf(own, spans, out);
  EXPECT_EQ(
      "0ab0010a540a130a0c736572766963652e6e616d6512030a01610a110a0b70726f636573732e706964120218070a2a0a1470726f6365"
      "73732e636f6d6d616e645f6172677312122a100a030a01780a050a032d2d790a020a0012580a1a0a1162706674726163652d6578706f"
      "727465721205302e312e30123a0a100102030405060708090a0b0c0d0e0f101208a1a2a3a4a5a6a7a82a06612d7370616e3002390a00"
      "0000000000004114000000000000007a000a700a170a150a0c736572766963652e6e616d6512050a0373766312550a1a0a116270667472"
      "6163652d6578706f727465721205302e312e3012370a10ffffffffffffffffffffffffffffffff1208eeeeeeeeeeeeeeee2a036f776e30"
      "013901000000000000004102000000000000007a00",
      hex(out));
  // The same spans as JSON: two resourceSpans, the array as arrayValue.
  encode_otlp_json(own, spans, out);
  EXPECT_NE(out.find(R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}},)"
                     R"({"key":"process.pid","value":{"intValue":"7"}},{"key":"process.command_args","value":)"
                     R"({"arrayValue":{"values":[{"stringValue":"x"},{"stringValue":"--y"},{"stringValue":""}]}}}]},)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"(]}]},{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},)"),
            std::string::npos)
      << out;
}

TEST(ResourceGroups, groups_in_order_of_first_appearance_keeping_span_order) {
  std::vector<std::unique_ptr<SpanRecord>> owned;
  std::vector<const SpanRecord*> batch;
  ResourceRef x(std::make_unique<Resource>());
  ResourceRef y(std::make_unique<Resource>());
  const ResourceRef* pattern[] = {nullptr, &y, &x, nullptr, &y, &y, &x};
  for (const ResourceRef* r : pattern) {
    owned.push_back(std::make_unique<SpanRecord>());
    if (r != nullptr) owned.back()->resource = *r;
    batch.push_back(owned.back().get());
  }
  ResourceGroups groups;
  groups.assign(batch);
  ASSERT_EQ(groups.groups().size(), 3u);
  EXPECT_EQ(groups.groups()[0].resource, nullptr);
  EXPECT_EQ(groups.groups()[1].resource, y.get());
  EXPECT_EQ(groups.groups()[2].resource, x.get());
  const std::vector<const SpanRecord*> expected = {batch[0], batch[3], batch[1], batch[4], batch[5], batch[2], batch[6]};
  EXPECT_EQ(std::vector<const SpanRecord*>(groups.spans().begin(), groups.spans().end()), expected);
  EXPECT_EQ(groups.spans_of(groups.groups()[1]).size(), 3u);
  // One resource: the batch itself, no copy.
  std::vector<const SpanRecord*> same = {batch[1], batch[4]};
  groups.assign(same);
  ASSERT_EQ(groups.groups().size(), 1u);
  EXPECT_EQ(groups.spans().data(), same.data());
}

TEST(OtlpJsonEncoder, writes_otlp_json_mapping) {
  Golden g;
  std::string out;
  encode_otlp_json(g.resource, g.spans, out);
  EXPECT_EQ(
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},)"
      R"("scopeSpans":[{"scope":{"name":"bpftrace-exporter","version":"0.1.0"},"spans":[)"
      R"({"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"a1a2a3a4a5a6a7a8","parentSpanId":"b1b2b3b4b5b6b7b8",)"
      R"("name":"GET /x","kind":2,"startTimeUnixNano":"1000000000000000001","endTimeUnixNano":"1000000000000000002",)"
      R"("attributes":[{"key":"s","value":{"stringValue":"v"}},{"key":"b","value":{"boolValue":true}},)"
      R"({"key":"i","value":{"intValue":"-1"}},{"key":"d","value":{"doubleValue":1.5}}],"droppedAttributesCount":2,)"
      R"("events":[{"timeUnixNano":"5","name":"e","attributes":[{"key":"k","value":{"stringValue":"x"}}]}],)"
      R"("status":{"message":"boom","code":2}},)"
      R"({"traceId":"ffffffffffffffffffffffffffffffff","spanId":"eeeeeeeeeeeeeeee","name":"root","kind":1,)"
      R"("startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"f","value":{"boolValue":false}},)"
      R"({"key":"z","value":{"intValue":"0"}}],"status":{}}]}]}]})",
      out);
}

TEST(OtlpJsonEncoder, escapes_strings_and_non_finite_doubles) {
  ResourceInfo resource;
  SpanRecord s;
  s.name = "q\"b\\n\nt\tc\x01\x1f\x7f \xc3\xbc";
  s.attributes.set_double("nan", std::nan(""));
  s.attributes.set_double("inf", -HUGE_VAL);
  const SpanRecord* spans[] = {&s};
  std::string out;
  encode_otlp_json(resource, spans, out);
  EXPECT_NE(std::string::npos, out.find(R"("name":"q\"b\\n\nt\tc\u0001\u001f)" "\x7f \xc3\xbc\"")) << out;
  EXPECT_NE(std::string::npos, out.find(R"({"doubleValue":"NaN"})")) << out;
  EXPECT_NE(std::string::npos, out.find(R"({"doubleValue":"-Infinity"})")) << out;
}

TEST(OtlpEncoders, reuse_the_output_buffer) {
  SpanBatch batch = make_spans(64);
  ResourceInfo resource;
  for (auto encode : {&encode_otlp_protobuf, &encode_otlp_json}) {
    std::string out;
    encode(resource, batch.view(), out);
    const std::string first = out;
    const char* data = out.data();
    const size_t capacity = out.capacity();
    encode(resource, batch.view(), out);
    EXPECT_EQ(first, out);
    EXPECT_EQ(data, out.data());
    EXPECT_EQ(capacity, out.capacity());
  }
}

TEST(GzipCompressor, round_trips_through_zlib) {
  SpanBatch batch = make_spans(100);
  std::string body;
  encode_otlp_protobuf(ResourceInfo{}, batch.view(), body);
  GzipCompressor gzip;
  std::string compressed;
  for (int round = 0; round < 2; ++round) {  // the reset stream must work again
    ASSERT_TRUE(gzip.compress(body, compressed));
    ASSERT_GE(compressed.size(), 18u);
    EXPECT_EQ('\x1f', compressed[0]);
    EXPECT_EQ('\x8b', compressed[1]);
    EXPECT_LT(compressed.size(), body.size());
    z_stream z{};
    ASSERT_EQ(Z_OK, inflateInit2(&z, 15 + 16));
    std::string inflated(body.size() + 16, '\0');
    z.next_in = reinterpret_cast<Bytef*>(compressed.data());
    z.avail_in = static_cast<uInt>(compressed.size());
    z.next_out = reinterpret_cast<Bytef*>(inflated.data());
    z.avail_out = static_cast<uInt>(inflated.size());
    EXPECT_EQ(Z_STREAM_END, inflate(&z, Z_FINISH));
    inflated.resize(z.total_out);
    inflateEnd(&z);
    EXPECT_EQ(body, inflated);
  }
}

}  // namespace
}  // namespace bto::testing
