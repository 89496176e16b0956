// OTLP encoders on a realistic 512-span batch (7 attributes, some events):
// throughput, and allocations per batch in steady state (must be 0).

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

#include "allocation_counter.h"
#include "export/gzip_compressor.h"
#include "export/otlp_encoder.h"
#include "export/resource.h"

namespace {

using namespace bto;

struct Batch {
  std::vector<std::unique_ptr<SpanRecord>> owned;
  std::vector<const SpanRecord*> spans;
  ResourceInfo resource;
};

const Batch& batch() {
  static const Batch b = [] {
    Batch out;
    ResourceOptions options;
    options.service_name = "checkout-service";
    options.host_name = "ip-10-0-3-17.eu-west-1.compute.internal";
    options.exporter_mode = "native-usdt";
    out.resource = build_resource(options);
    for (int i = 0; i < 512; ++i) {
      auto s = std::make_unique<SpanRecord>();
      for (size_t b = 0; b < 16; ++b) s->trace_id[b] = static_cast<uint8_t>(i * 7 + b * 31);
      for (size_t b = 0; b < 8; ++b) s->span_id[b] = static_cast<uint8_t>(i * 13 + b * 17 + 1);
      if (i % 4 != 0) s->parent_span_id = out.owned.back()->span_id;
      s->name = i % 2 ? "GET /api/v1/orders/{id}" : "postgres.query";
      s->kind = i % 2 ? SpanKind::kServer : SpanKind::kClient;
      s->start_time_unix_ns = 1'732'600'000'000'000'000ULL + static_cast<uint64_t>(i) * 1'000'000ULL;
      s->end_time_unix_ns = s->start_time_unix_ns + 250'000 + static_cast<uint64_t>(i) * 10;
      s->attributes.set_string("http.method", "GET");
      s->attributes.set_string("http.route", "/api/v1/orders/{id}");
      s->attributes.set_int("http.status_code", 200);
      s->attributes.set_string("db.statement", "SELECT id, total FROM orders WHERE customer_id = $1");
      s->attributes.set_int("thread.id", 4000 + i % 8);
      s->attributes.set_bool("cache.hit", i % 3 == 0);
      s->attributes.set_double("sample.ratio", 0.25);
      if (i % 16 == 0) {
        SpanEventRecord e;
        e.name = "exception";
        e.time_unix_ns = s->start_time_unix_ns + 1000;
        e.attributes.set_string("exception.message", "connection reset by peer");
        s->events.push_back(std::move(e));
        s->status = StatusCode::kError;
        s->status_message = "connection reset by peer";
      }
      out.spans.push_back(s.get());
      out.owned.push_back(std::move(s));
    }
    return out;
  }();
  return b;
}

template <void (*Encode)(const ResourceInfo&, std::span<const SpanRecord* const>, std::string&)>
void BM_Encode(benchmark::State& state) {
  const Batch& b = batch();
  std::string out;
  Encode(b.resource, b.spans, out);  // grow the reused buffer once
  const uint64_t before = bto::testing::allocations();
  for (auto _ : state) {
    Encode(b.resource, b.spans, out);
    benchmark::DoNotOptimize(out.data());
  }
  const uint64_t allocations = bto::testing::allocations() - before;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.spans.size()));
  state.counters["allocs_per_batch"] = static_cast<double>(allocations) / static_cast<double>(state.iterations());
  state.counters["batch_bytes"] = static_cast<double>(out.size());
}
BENCHMARK_TEMPLATE(BM_Encode, &encode_otlp_protobuf)->Name("BM_EncodeProtobuf512");
BENCHMARK_TEMPLATE(BM_Encode, &encode_otlp_json)->Name("BM_EncodeJson512");

template <void (*Encode)(const ResourceInfo&, std::span<const SpanRecord* const>, std::string&)>
void BM_Gzip(benchmark::State& state) {
  const Batch& b = batch();
  std::string body;
  Encode(b.resource, b.spans, body);
  GzipCompressor gzip(kOtlpGzipLevel);
  std::string compressed;
  gzip.compress(body, compressed);
  const uint64_t before = bto::testing::allocations();
  for (auto _ : state) {
    gzip.compress(body, compressed);
    benchmark::DoNotOptimize(compressed.data());
  }
  const uint64_t allocations = bto::testing::allocations() - before;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.spans.size()));
  state.counters["allocs_per_batch"] = static_cast<double>(allocations) / static_cast<double>(state.iterations());
  state.counters["ratio"] = static_cast<double>(body.size()) / static_cast<double>(compressed.size());
}
BENCHMARK_TEMPLATE(BM_Gzip, &encode_otlp_protobuf)->Name("BM_GzipProtobuf512");
BENCHMARK_TEMPLATE(BM_Gzip, &encode_otlp_json)->Name("BM_GzipJson512");

// Reference only: zlib's streaming deflate at the same level, one reused
// z_stream, as the exporter used before libdeflate.
void BM_ZlibReferenceProtobuf512(benchmark::State& state) {
  const Batch& b = batch();
  std::string body;
  encode_otlp_protobuf(b.resource, b.spans, body);
  z_stream z{};
  if (deflateInit2(&z, kOtlpGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    state.SkipWithError("deflateInit2 failed");
    return;
  }
  std::string compressed(deflateBound(&z, static_cast<uLong>(body.size())), '\0');
  for (auto _ : state) {
    deflateReset(&z);
    z.next_in = reinterpret_cast<Bytef*>(body.data());
    z.avail_in = static_cast<uInt>(body.size());
    z.next_out = reinterpret_cast<Bytef*>(compressed.data());
    z.avail_out = static_cast<uInt>(compressed.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) state.SkipWithError("deflate failed");
    benchmark::DoNotOptimize(compressed.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.spans.size()));
  state.counters["ratio"] = static_cast<double>(body.size()) / static_cast<double>(z.total_out);
  deflateEnd(&z);
}
BENCHMARK(BM_ZlibReferenceProtobuf512);

}  // namespace

BENCHMARK_MAIN();
