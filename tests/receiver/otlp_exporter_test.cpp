// The real OTLP exporter against the real test receivers (official schema):
// every field on the wire, partial success, and the fault cases, each over
// OTLP/HTTP and OTLP/gRPC alike (otlp_test_fixture.h), then the cases only
// OTLP/HTTP has. gRPC-only cases: otlp_grpc_test.cpp; TLS: otlp_tls_test.cpp.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "export/batch_processor.h"
#include "export/grpc_transport.h"
#include "export/otlp_exporter.h"
#include "otlp_test_fixture.h"
#include "span_fixtures.h"
#include "test_receiver.h"

namespace bto::testing {
namespace {

// ---- wire: every field, headers or metadata, gzip, one kept-alive connection --

struct WireCase {
  Transport transport;
  OtlpCompression compression;
};

void PrintTo(const WireCase& c, std::ostream* out) {
  *out << to_string(c.transport.protocol) << (c.compression == OtlpCompression::kGzip ? " gzip" : " plain");
}

class OtlpWire : public ::testing::TestWithParam<WireCase> {};

TEST_P(OtlpWire, delivers_every_field_exactly_once) {
  const Transport& transport = GetParam().transport;
  const auto receiver = start_receiver(transport);
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options(transport, receiver->endpoint());
  options.compression = GetParam().compression;
  // Created by the generic factory: the protocol picks the HTTP or the gRPC exporter.
  auto exporter = create_otlp_exporter(options, resource, stats);

  // Three batches over one kept-alive connection (gRPC: one persistent
  // channel); the middle one is big enough for multi-byte length prefixes everywhere.
  SpanBatch first = make_spans(7, 1);
  SpanBatch second = make_spans(300, 2);
  SpanBatch third = make_spans(1, 3);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(first.view()));
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(second.view()));
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(third.view()));

  const SpanBatch all = concat({&first, &second, &third});
  const Received got = receiver->received();
  expect_received_exactly(all, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(3, got.accepted);
  const bool json = transport.protocol == OtlpProtocol::kHttpJson;
  ASSERT_EQ(3u, got.content_encodings.size()) << "requests (gRPC: messages) seen on the wire";
  ASSERT_EQ(3u, got.headers.size());
  for (int i = 0; i < got.requests; ++i) {
    EXPECT_EQ(transport.encoding_name(GetParam().compression), got.content_encodings[i]) << "message " << i;
    if (transport.grpc()) {
      EXPECT_EQ(kOtlpTraceExportMethod, got.headers[i].at(":path"));
    } else {
      EXPECT_EQ(json ? "application/json" : "application/x-protobuf", got.content_types[i]);
    }
    EXPECT_EQ(kSecret, got.headers[i].at("x-api-key")) << "metadata keys are lowercased";
    EXPECT_EQ("t 1", got.headers[i].at("x-tenant"));
    EXPECT_TRUE(got.headers[i].at("user-agent").starts_with("OTel-OTLP-Exporter-bpftrace-otel/"))
        << got.headers[i].at("user-agent");
  }
  ASSERT_EQ(3u, got.client_ports.size());
  EXPECT_EQ(got.client_ports[0], got.client_ports[1]) << "connection not kept alive";
  EXPECT_EQ(got.client_ports[0], got.client_ports[2]) << "connection not kept alive";
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
  EXPECT_GT(stats.export_latency_us_total, 0u);
  EXPECT_GT(stats.last_export_success_unix_ms, 0);
  EXPECT_EQ(0, stats.last_export_failure_unix_ms);
  // Per-batch span counts belong to the BatchProcessor.
  EXPECT_EQ(0u, stats.spans_exported);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, OtlpWire,
    ::testing::Values(WireCase{kHttpProtobuf, OtlpCompression::kNone}, WireCase{kHttpProtobuf, OtlpCompression::kGzip},
                      WireCase{kHttpJson, OtlpCompression::kNone}, WireCase{kHttpJson, OtlpCompression::kGzip},
                      WireCase{kGrpc, OtlpCompression::kNone}, WireCase{kGrpc, OtlpCompression::kGzip}),
    [](const ::testing::TestParamInfo<WireCase>& info) {
      return std::string(info.param.transport.name) +
             (info.param.compression == OtlpCompression::kGzip ? "_gzip" : "_plain");
    });

// ---- one ResourceSpans per traced process -----------------------------------------

ResourceRef process_resource(int64_t pid, const std::string& service, std::vector<std::string> args) {
  auto r = std::make_unique<Resource>();
  r->pid = pid;
  r->attributes.set_string("service.name", service);
  r->attributes.set_int("process.pid", pid);
  if (!args.empty()) r->arrays.push_back({"process.command_args", std::move(args)});
  return ResourceRef(std::move(r));
}

std::string received_attr(const std::vector<ReceivedAttribute>& list, const std::string& key) {
  for (const ReceivedAttribute& a : list) {
    if (a.key == key) return a.type + ":" + a.value;
  }
  return "<none>";
}

class OtlpResources : public ::testing::TestWithParam<Transport> {};

TEST_P(OtlpResources, spans_are_grouped_by_their_process_resource) {
  const auto receiver = start_receiver(GetParam());
  const ResourceInfo own = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(GetParam(), receiver->endpoint()), own, stats);
  const ResourceRef a = process_resource(101, "orders", {"/srv/app", "--port", "8080", "", "quote\" \xc3\xbc"});
  const ResourceRef b = process_resource(202, "payments", {});
  const ResourceRef c = process_resource(303, "unknown_service:app", {"/srv/app"});
  // Interleaved, and some spans name no process (the exporter's own resource).
  SpanBatch batch = make_spans(40, 9);
  for (size_t i = 0; i < batch.owned.size(); ++i) {
    const ResourceRef* pick[] = {&a, &b, nullptr, &c, &a};
    if (pick[i % 5] != nullptr) batch.owned[i]->resource = *pick[i % 5];
  }
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const Received got = receiver->received();
  ASSERT_EQ(got.spans.size(), batch.owned.size());
  std::map<std::string, const SpanRecord*> sent;
  for (const SpanRecord* s : batch.pointers) sent[to_hex(s->span_id)] = s;
  std::map<std::string, size_t> per_service;
  for (const ReceivedSpan& span : got.spans) {
    const SpanRecord* s = sent.at(span.span_id);
    const std::string service = received_attr(span.resource, "service.name");
    ++per_service[service];
    if (!s->resource) {
      EXPECT_EQ(service, "string:" + own.attributes.find("service.name")->string_value);
      EXPECT_EQ(received_attr(span.resource, "process.pid"), "<none>");
      continue;
    }
    EXPECT_EQ(service, "string:" + s->resource->attributes.find("service.name")->string_value);
    EXPECT_EQ(received_attr(span.resource, "process.pid"), "int:" + std::to_string(s->resource->pid));
    std::string args;
    for (const StringArrayAttribute& array : s->resource->arrays) {
      for (const std::string& v : array.values) args += (args.empty() && &v == &array.values.front() ? "" : std::string(1, '\0')) + v;
    }
    EXPECT_EQ(received_attr(span.resource, "process.command_args"), s->resource->arrays.empty() ? "<none>" : "array:" + args);
  }
  EXPECT_EQ(per_service.size(), 4u);
  EXPECT_EQ(per_service["string:orders"], 16u);
  EXPECT_EQ(per_service["string:payments"], 8u);
}

INSTANTIATE_TEST_SUITE_P(Formats, OtlpResources, ::testing::Values(kHttpProtobuf, kHttpJson, kGrpc), transport_name);

// ---- partial success -------------------------------------------------------------

class OtlpPartial : public ::testing::TestWithParam<Transport> {};

TEST_P(OtlpPartial, counts_rejected_spans_and_logs_message) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(R"({"partial_success": {"rejected": 3, "message": "3 spans too old"}})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(GetParam(), receiver->endpoint()), test_resource(), stats);
  SpanBatch batch = make_spans(10);
  EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(10u, receiver->received().spans.size());
  EXPECT_EQ(3u, stats.dropped_partial_success);
  EXPECT_EQ(0u, stats.export_failures);
  EXPECT_NE(std::string::npos, log.text().find("rejected 3 of 10 spans")) << log.text();
  EXPECT_NE(std::string::npos, log.text().find("3 spans too old")) << log.text();
}

// Issue 17.6: a hostile collector's rejected_spans (INT64_MAX) was added as
// is, so three answers wrapped the counter around to a small number.
TEST_P(OtlpPartial, partial_success_rejected_spans_saturate) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(R"({"partial_success": {"rejected": 9223372036854775807, "message": "all of them"}})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(GetParam(), receiver->endpoint()), test_resource(), stats);
  for (int i = 0; i < 3; ++i) {
    SpanBatch batch = make_spans(10);
    EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  }
  EXPECT_EQ(30u, stats.dropped_partial_success);  // never more than was sent
  EXPECT_NE(std::string::npos, log.text().find("rejected 10 of 10 spans (it claimed 9223372036854775807"))
      << log.text();
}

INSTANTIATE_TEST_SUITE_P(Formats, OtlpPartial, ::testing::Values(kHttpProtobuf, kHttpJson, kGrpc), transport_name);

// ---- faults, over every transport -----------------------------------------------

class OtlpExporter : public ::testing::TestWithParam<Transport> {};

TEST_P(OtlpExporter, receiver_down_at_start_then_up) {
  const int port = free_port();
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options(GetParam(), otlp_endpoint(GetParam().receiver, port));
  options.retry.initial_backoff = 200ms;
  options.retry.max_backoff = 400ms;
  options.retry.max_attempts = 60;
  auto exporter = create_otlp_exporter(options, resource, stats);
  SpanBatch batch = make_spans(5);

  auto result = std::async(std::launch::async, [&] { return exporter->export_batch(batch.view()); });
  std::this_thread::sleep_for(700ms);
  ReceiverOptions receiver_options;
  receiver_options.port = port;
  const auto receiver = start_receiver(GetParam(), receiver_options);
  ASSERT_EQ(ExportResult::kSuccess, result.get());
  expect_received_exactly(batch, receiver->received(), resource);
  EXPECT_GE(stats.export_retries, 1u);
  EXPECT_EQ(stats.export_requests, stats.export_retries + 1);
  EXPECT_EQ(0u, stats.export_failures);
}

// HTTP 503 / gRPC UNAVAILABLE twice.
TEST_P(OtlpExporter, retries_a_retryable_failure_until_accepted) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(GetParam().retryable_failure(2));
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(GetParam(), receiver->endpoint()), resource, stats);
  SpanBatch batch = make_spans(10);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const Received got = receiver->received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
}

// Retry-After / RetryInfo of 30 s against a 5 s export deadline.
TEST_P(OtlpExporter, gives_up_at_once_when_the_server_delay_is_past_the_deadline) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(GetParam().retryable_failure(-1, 30));
  ExportStats stats;
  OtlpOptions options = fast_options(GetParam(), receiver->endpoint());
  options.retry.max_elapsed = 5s;
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(2);
  const auto start = Clock::now();
  EXPECT_EQ(ExportResult::kRetryable, exporter->export_batch(batch.view()));
  EXPECT_LT(ms_since(start), 1500);
  EXPECT_EQ(1u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
}

TEST_P(OtlpExporter, retries_a_response_slower_than_the_timeout) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(R"({"delay_ms": 1500, "delay_first": 1})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options(GetParam(), receiver->endpoint());
  options.timeout = 400ms;
  auto exporter = create_otlp_exporter(options, resource, stats);
  SpanBatch batch = make_spans(6);
  const auto start = Clock::now();
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_GE(ms_since(start), 400);
  EXPECT_EQ(2u, stats.export_requests);
  EXPECT_EQ(1u, stats.export_retries);
  // Let the receiver finish the abandoned request before reading its state.
  std::this_thread::sleep_for(std::chrono::milliseconds(1700 - std::min<long long>(ms_since(start), 1700)));
  const Received got = receiver->received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(2, got.requests);
}

// HTTP 400 / gRPC INVALID_ARGUMENT.
TEST_P(OtlpExporter, drops_a_permanent_failure_without_retry_and_logs_the_message) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(GetParam().permanent_failure("span name too long"));
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(GetParam(), receiver->endpoint()), test_resource(), stats);
  SpanBatch batch = make_spans(8);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  const Received got = receiver->received();
  EXPECT_EQ(1, got.requests);
  EXPECT_TRUE(got.spans.empty());
  EXPECT_EQ(1u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_GT(stats.last_export_failure_unix_ms, 0);
  const std::string text = log.text();
  EXPECT_NE(std::string::npos, text.find(GetParam().permanent_failure_name())) << text;
  EXPECT_NE(std::string::npos, text.find("span name too long")) << text;
  EXPECT_NE(std::string::npos, text.find("8 spans dropped")) << text;
  EXPECT_EQ(std::string::npos, text.find(kSecret)) << "a header value leaked into the log";
}

TEST_P(OtlpExporter, returns_retryable_when_attempts_are_exhausted) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(GetParam().retryable_failure(-1));
  ExportStats stats;
  OtlpOptions options = fast_options(GetParam(), receiver->endpoint());
  options.retry.max_attempts = 3;
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_EQ(ExportResult::kRetryable, exporter->export_batch(batch.view()));
  EXPECT_EQ(3, receiver->received().requests);
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
}

TEST_P(OtlpExporter, shutdown_from_another_thread_interrupts_backoff) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(GetParam().retryable_failure(-1, 10));
  ExportStats stats;
  OtlpOptions options = fast_options(GetParam(), receiver->endpoint());
  options.retry.max_elapsed = 60s;
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(2);
  const auto start = Clock::now();
  auto result = std::async(std::launch::async, [&] { return exporter->export_batch(batch.view()); });
  std::this_thread::sleep_for(300ms);
  exporter->shutdown(1s);
  ASSERT_EQ(std::future_status::ready, result.wait_for(2s));
  EXPECT_EQ(ExportResult::kRetryable, result.get());
  EXPECT_LT(ms_since(start), 1000);
  EXPECT_EQ(1u, stats.export_requests);
  // Exports after shutdown do not touch the network.
  EXPECT_EQ(ExportResult::kRetryable, exporter->export_batch(batch.view()));
  EXPECT_EQ(1, receiver->received().requests);
}

TEST_P(OtlpExporter, shutdown_from_another_thread_interrupts_a_slow_request) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(R"({"delay_ms": 5000, "delay_first": 1})");
  ExportStats stats;
  OtlpOptions options = fast_options(GetParam(), receiver->endpoint());
  options.timeout = 30s;
  options.retry.max_elapsed = 60s;
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(2);
  const auto start = Clock::now();
  auto result = std::async(std::launch::async, [&] { return exporter->export_batch(batch.view()); });
  std::this_thread::sleep_for(300ms);
  exporter->shutdown(1s);
  ASSERT_EQ(std::future_status::ready, result.wait_for(2s));
  EXPECT_EQ(ExportResult::kRetryable, result.get());
  EXPECT_LT(ms_since(start), 1000);
  EXPECT_EQ(1u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_EQ(0, stats.last_export_failure_unix_ms) << "a cancel by us is not a collector failure";
}

TEST_P(OtlpExporter, empty_batch_sends_nothing) {
  const auto receiver = start_receiver(GetParam());
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(GetParam(), receiver->endpoint()), test_resource(), stats);
  EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch({}));
  EXPECT_EQ(0, receiver->received().requests);
  EXPECT_TRUE(exporter->force_flush(1s));
}

TEST_P(OtlpExporter, batch_processor_counts_match_what_the_receiver_got) {
  const auto receiver = start_receiver(GetParam());
  receiver->control(GetParam().retryable_failure(2));
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  SpanPool pool;
  BatchOptions batch_options;
  batch_options.max_export_batch_size = 100;
  batch_options.schedule_delay = 50ms;
  const OtlpOptions options = fast_options(GetParam(), receiver->endpoint());
  auto processor = create_batch_processor(
      batch_options, [&] { return create_otlp_exporter(options, resource, stats); }, pool, stats);
  SpanBatch sent = make_spans(1000, 4);
  for (const auto& s : sent.owned) {
    SpanPtr span = pool.acquire();
    *span = *s;
    processor->on_span_finished(std::move(span));
  }
  processor->shutdown(20s);
  const Received got = receiver->received();
  expect_received_exactly(sent, got, resource);
  EXPECT_EQ(1000u, stats.spans_enqueued);
  EXPECT_EQ(1000u, stats.spans_exported);
  EXPECT_EQ(0u, stats.dropped_total());
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(static_cast<uint64_t>(got.requests), stats.export_requests);
  EXPECT_EQ(static_cast<uint64_t>(got.accepted) + 2, stats.export_requests);
}

INSTANTIATE_TEST_SUITE_P(Transports, OtlpExporter, ::testing::ValuesIn(kEveryTransport), receiver_name);

// ---- OTLP/HTTP only ----------------------------------------------------------------

// A spool keeps each request's encoding: a run with the other OTLP/HTTP
// protocol sends it as it is, with its own Content-Type, and the official
// decoder reads it (docs/design.md, "Disk spool").
TEST(OtlpSpooled, a_request_of_the_other_encoding_is_sent_with_its_own_content_type) {
  const ResourceInfo resource = test_resource();
  for (const auto& [now, then] : {std::pair{kHttpProtobuf, kHttpJson}, std::pair{kHttpJson, kHttpProtobuf}}) {
    const auto receiver = start_receiver(now);
    ExportStats stats;
    auto writer = create_otlp_exporter(fast_options(then, receiver->endpoint()), resource, stats);
    SpanBatch batch = make_spans(40);
    std::string body;
    RequestExporter* encoder = writer->requests();
    ASSERT_NE(encoder, nullptr);
    ASSERT_TRUE(encoder->encode(batch.view(), body));

    OtlpOptions options = fast_options(now, receiver->endpoint());
    options.failures_spooled = true;
    auto exporter = create_otlp_exporter(options, resource, stats);
    RequestExporter& sender = *exporter->requests();
    ASSERT_TRUE(sender.can_send(encoder->encoding()));
    ASSERT_EQ(ExportResult::kSuccess, sender.send(body, encoder->encoding(), batch.owned.size(), 0));
    const Received got = receiver->received();
    expect_received_exactly(batch, got, resource);
    ASSERT_EQ(1, got.requests);
    EXPECT_EQ(then.protocol == OtlpProtocol::kHttpJson ? "application/json" : "application/x-protobuf",
              got.content_types[0]);
  }
}

TEST(OtlpSpooled, grpc_cannot_send_json_and_http_sends_the_other_encoding_only_with_a_spool) {
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions grpc = fast_options(kGrpc, "http://127.0.0.1:4317");
  grpc.failures_spooled = true;
  auto grpc_exporter = create_otlp_exporter(grpc, resource, stats);
  EXPECT_TRUE(grpc_exporter->requests()->can_send(RequestEncoding::kProtobuf));
  EXPECT_FALSE(grpc_exporter->requests()->can_send(RequestEncoding::kJson));
  EXPECT_EQ(ExportResult::kPermanent, grpc_exporter->requests()->send("{}", RequestEncoding::kJson, 1, 1));
  auto plain = create_otlp_exporter(fast_options(kHttpProtobuf, "http://127.0.0.1:4318/v1/traces"), resource, stats);
  EXPECT_TRUE(plain->requests()->can_send(RequestEncoding::kProtobuf));
  EXPECT_FALSE(plain->requests()->can_send(RequestEncoding::kJson));
  EXPECT_FALSE(plain->requests()->can_send(static_cast<RequestEncoding>(7)));  // another version's
}


TEST(OtlpExporter, honours_retry_after_on_429) {
  TestReceiver receiver;
  receiver.control(R"({"fail_first": 1, "status": 429, "retry_after": "2"})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(kHttpProtobuf, receiver.traces_url()), resource, stats);
  SpanBatch batch = make_spans(3);
  const auto start = Clock::now();
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const auto elapsed = ms_since(start);
  EXPECT_GE(elapsed, 1950) << "Retry-After: 2 not honoured (backoff alone is <= 200 ms)";
  EXPECT_LT(elapsed, 4000);
  expect_received_exactly(batch, receiver.received(), resource);
  EXPECT_EQ(1u, stats.export_retries);
}

TEST(OtlpExporter, retries_after_connection_reset) {
  TestReceiver receiver;
  receiver.control(R"({"reset_connection_first": 2})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(kHttpProtobuf, receiver.traces_url()), resource, stats);
  SpanBatch batch = make_spans(4);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const Received got = receiver.received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(2u, stats.export_retries);
}

TEST(OtlpExporter, drops_400_json_status_message_too) {
  TestReceiver receiver;
  receiver.control(R"({"status": 400, "message": "bad \"json\" payload"})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(kHttpJson, receiver.traces_url()), test_resource(), stats);
  SpanBatch batch = make_spans(1);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  EXPECT_NE(std::string::npos, log.text().find("bad \"json\" payload")) << log.text();
}

TEST(OtlpExporter, bad_endpoint_scheme_is_a_permanent_error) {
  ExportStats stats;
  OtlpOptions options = fast_options(kHttpProtobuf, "ftp://127.0.0.1:1/v1/traces");
  EXPECT_FALSE(validate_otlp_options(options).empty());
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(1);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
}

}  // namespace
}  // namespace bto::testing
