// What only OTLP/gRPC has, against the real Python gRPC receiver that decodes
// with the official OTLP schema (otlp_grpc_receiver.py): each retryable status
// code, RESOURCE_EXHAUSTED with and without RetryInfo, the method a transport
// calls, span metrics through MetricsService, plus the pure parts (status
// classification, RetryInfo, endpoints, metadata) and the settings that select
// gRPC. What OTLP/HTTP and gRPC share runs over both in otlp_exporter_test.cpp
// and otlp_tls_test.cpp.

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "config/config_test_util.h"
#include "export/grpc_transport.h"
#include "export/otlp_exporter.h"
#include "export/otlp_grpc_exporter.h"
#include "metrics/metrics_exporter.h"
#include "metrics/span_metrics.h"
#include "otlp_test_fixture.h"
#include "span_fixtures.h"
#include "test_receiver.h"

namespace bto::testing {
namespace {

std::unique_ptr<TestReceiver> grpc_receiver() { return start_receiver(kGrpc); }

// ---- faults ----------------------------------------------------------------

// The OTLP spec's retryable codes, each sent by the server once (one receiver,
// reset between codes: a receiver start costs ~0.5 s).
TEST(OtlpGrpcExporter, retries_each_retryable_code_once_then_delivers) {
  const auto receiver = grpc_receiver();
  const ResourceInfo resource = test_resource();
  uint8_t seed = 10;
  for (const char* code : {"CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "DATA_LOSS"}) {
    SCOPED_TRACE(code);
    receiver->control(std::string(R"({"reset": true, "fail_first": 1, "code": ")") + code + R"("})");
    ExportStats stats;
    auto exporter = create_otlp_exporter(fast_options(kGrpc, receiver->endpoint()), resource, stats);
    SpanBatch batch = make_spans(3, seed++);
    ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
    expect_received_exactly(batch, receiver->received(), resource);
    EXPECT_EQ(2u, stats.export_requests);
    EXPECT_EQ(1u, stats.export_retries);
    EXPECT_EQ(0u, stats.export_failures);
  }
}

TEST(OtlpGrpcExporter, resource_exhausted_with_retry_info_waits_the_server_delay) {
  const auto receiver = grpc_receiver();
  receiver->control(R"({"fail_first": 1, "code": "RESOURCE_EXHAUSTED", "retry_delay_ms": 1500})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(kGrpc, receiver->endpoint()), resource, stats);
  SpanBatch batch = make_spans(4);
  const auto start = Clock::now();
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const auto elapsed = ms_since(start);
  EXPECT_GE(elapsed, 1450) << "RetryInfo 1.5 s not honoured (backoff alone is <= 200 ms)";
  EXPECT_LT(elapsed, 4000);
  expect_received_exactly(batch, receiver->received(), resource);
  EXPECT_EQ(1u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
}

TEST(OtlpGrpcExporter, resource_exhausted_without_retry_info_is_dropped) {
  const auto receiver = grpc_receiver();
  receiver->control(R"({"code": "RESOURCE_EXHAUSTED", "message": "quota gone"})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(kGrpc, receiver->endpoint()), test_resource(), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  EXPECT_EQ(1, receiver->received().requests);
  EXPECT_EQ(1u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_NE(std::string::npos, log.text().find("RESOURCE_EXHAUSTED")) << log.text();
  EXPECT_NE(std::string::npos, log.text().find("quota gone")) << log.text();
}

// Issue 17.3: GRPC_TRACE=http made gRPC log "authorization: Bearer ..." at
// debug level. The app unsets GRPC_TRACE while headers are set; this is the
// second guard: with the tracer on anyway, no line quoting a header value
// reaches our log. (One process per test: gRPC reads GRPC_TRACE at its init.)
TEST(OtlpGrpcExporter, library_debug_logs_never_carry_our_headers) {
  const auto receiver = grpc_receiver();  // before the variables: its own gRPC would trace too
  ::setenv("GRPC_TRACE", "http", 1);
  ::setenv("GRPC_VERBOSITY", "debug", 1);
  ExportStats stats;
  LogCapture log;
  spdlog::default_logger()->set_level(spdlog::level::debug);
  {
    auto exporter = create_otlp_exporter(fast_options(kGrpc, receiver->endpoint()), test_resource(), stats);
    SpanBatch batch = make_spans(3);
    EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  }
  ::unsetenv("GRPC_TRACE");
  ::unsetenv("GRPC_VERBOSITY");
  const std::string text = log.text();
  EXPECT_NE(std::string::npos, text.find("grpc: ")) << "gRPC's tracer did not log: the test proves nothing";
  EXPECT_NE(std::string::npos, text.find("withheld")) << text.substr(0, 4000);
  EXPECT_EQ(std::string::npos, text.find(kSecret)) << "a header value leaked into the log";
}

// The method is an option: a call of a method the server does not serve gets
// UNIMPLEMENTED (permanent) and never reaches the trace handler; the metrics
// method reaches the metrics handler.
TEST(GrpcTransport, calls_the_configured_method) {
  const auto receiver = grpc_receiver();
  GrpcTransportOptions options;
  options.endpoint = receiver->endpoint();
  options.method = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
  auto unserved = create_grpc_transport(options);
  const GrpcResponse& response = unserved->call("", 3s);
  EXPECT_EQ(12, response.code) << response.message;  // UNIMPLEMENTED
  EXPECT_STREQ("UNIMPLEMENTED", grpc_code_name(response.code));
  EXPECT_EQ(ExportResult::kPermanent, classify_grpc_status(response.code, false));

  options.method = kOtlpMetricsExportMethod;
  auto metrics = create_grpc_transport(options);
  EXPECT_EQ(0, metrics->call("", 3s).code);  // an empty ExportMetricsServiceRequest is valid
  EXPECT_EQ(0, receiver->received().requests) << "the trace handler must not see either call";
}

// ---- pure functions ----------------------------------------------------------

TEST(OtlpGrpcStatus, classification_follows_the_otlp_spec) {
  for (int code : {1, 4, 10, 11, 14, 15}) {
    EXPECT_EQ(ExportResult::kRetryable, classify_grpc_status(code, false)) << grpc_code_name(code);
  }
  for (int code : {2, 3, 5, 6, 7, 9, 12, 13, 16, 17, -1}) {
    EXPECT_EQ(ExportResult::kPermanent, classify_grpc_status(code, false)) << grpc_code_name(code);
  }
  EXPECT_EQ(ExportResult::kPermanent, classify_grpc_status(8, false));
  EXPECT_EQ(ExportResult::kRetryable, classify_grpc_status(8, true));
  EXPECT_EQ(ExportResult::kSuccess, classify_grpc_status(0, false));
}

std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string ld(int field, const std::string& payload) {
  return varint(static_cast<uint64_t>(field) << 3 | 2) + varint(payload.size()) + payload;
}
std::string status_with(const std::string& type_url, const std::string& duration) {
  const std::string any = ld(1, type_url) + ld(2, ld(1, duration));
  return varint(1 << 3) + varint(8) + ld(2, "slow down") + ld(3, ld(1, "type.googleapis.com/x.Other")) + ld(3, any);
}

TEST(OtlpGrpcStatus, retry_delay_is_read_from_retry_info) {
  const std::string two_and_a_half = varint(1 << 3) + varint(2) + varint(2 << 3) + varint(500'000'000);
  EXPECT_EQ(2500ms, grpc_retry_delay(status_with("type.googleapis.com/google.rpc.RetryInfo", two_and_a_half)));
  EXPECT_EQ(std::nullopt, grpc_retry_delay(status_with("type.googleapis.com/google.rpc.DebugInfo", two_and_a_half)));
  EXPECT_EQ(0ms, grpc_retry_delay(status_with("type.googleapis.com/google.rpc.RetryInfo", "")));
  // Far-future delays are capped at a day, as Retry-After.
  const std::string huge = varint(1 << 3) + varint(uint64_t{1} << 62);
  EXPECT_EQ(std::chrono::milliseconds(86'400'000),
            grpc_retry_delay(status_with("type.googleapis.com/google.rpc.RetryInfo", huge)));
  const std::string negative = varint(1 << 3) + varint(static_cast<uint64_t>(-5));
  EXPECT_EQ(0ms, grpc_retry_delay(status_with("type.googleapis.com/google.rpc.RetryInfo", negative)));
  EXPECT_EQ(std::nullopt, grpc_retry_delay(""));
  EXPECT_EQ(std::nullopt, grpc_retry_delay("\x1a\x7f"));  // truncated details
  EXPECT_EQ(std::nullopt, grpc_retry_delay(std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11)));
}

TEST(OtlpGrpcEndpoint, target_and_tls_come_from_the_scheme) {
  auto t = grpc_target_from_endpoint("http://collector:4317", false);
  ASSERT_TRUE(t);
  EXPECT_EQ("collector:4317", t->authority);
  EXPECT_FALSE(t->tls);
  t = grpc_target_from_endpoint("https://user:pw@collector:4317/v1/traces?x=1", true);
  ASSERT_TRUE(t);
  EXPECT_EQ("collector:4317", t->authority) << "path ignored, userinfo dropped";
  EXPECT_TRUE(t->tls) << "https stays TLS even with insecure";
  t = grpc_target_from_endpoint("https://collector", false);
  ASSERT_TRUE(t);
  EXPECT_EQ("collector:443", t->authority);
  t = grpc_target_from_endpoint("http://[::1]:4317", false);
  ASSERT_TRUE(t);
  EXPECT_EQ("[::1]:4317", t->authority);
  t = grpc_target_from_endpoint("[::1]", true);
  ASSERT_TRUE(t);
  EXPECT_EQ("[::1]:443", t->authority);
  EXPECT_FALSE(t->tls);
  t = grpc_target_from_endpoint("collector:4317", false);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->tls);
  EXPECT_FALSE(grpc_target_from_endpoint("ftp://collector:21", false));
  EXPECT_FALSE(grpc_target_from_endpoint("http://", false));
  EXPECT_FALSE(grpc_target_from_endpoint("http://:4317", false));
}

TEST(OtlpGrpcEndpoint, validate_checks_scheme_files_and_metadata) {
  OtlpOptions o = fast_options(kGrpc, "http://127.0.0.1:4317");
  EXPECT_EQ("", validate_otlp_options(o));
  o.endpoint = "ftp://x:1";
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("endpoint")) << validate_otlp_options(o);
  o.endpoint = "http://127.0.0.1:4317";
  o.certificate_file = "/nonexistent/ca.crt";
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("not readable"));
  o.certificate_file.clear();
  o.headers = {{"authorization", std::string("Bearer ") + kSecret + "\x7f"}};
  std::string problem = validate_otlp_options(o);
  EXPECT_NE(std::string::npos, problem.find("printable ASCII")) << problem;
  EXPECT_EQ(std::string::npos, problem.find(kSecret)) << "a header value leaked";
  o.headers = {{"grpc-timeout", "1S"}};
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("reserved"));
  o.headers = {{"x!y", "v"}};
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("metadata name"));
  o.headers = {{"trace-bin", std::string("\x00\xff", 2)}};
  EXPECT_EQ("", validate_otlp_options(o)) << "-bin metadata carries bytes";
  o.client_key_file = o.certificate_file = "/etc/hostname";  // readable, but half an mTLS pair
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("both"));
  o.client_key_file.clear();
  o.certificate_file.clear();
  o.timeout = std::chrono::milliseconds(0);
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("timeout"));
}

// ---- settings ------------------------------------------------------------------

using config_test::load_args;
using config_test::startup_error_of;

TEST(OtlpGrpcConfig, protocol_grpc_defaults_to_port_4317) {
  const LoadedConfig c = load_args({"-i", "x", "--exporter", "otlp"},
                                   {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}});
  EXPECT_EQ(OtlpProtocol::kGrpc, c.options.otlp.protocol);
  EXPECT_EQ("http://localhost:4317", c.options.otlp.endpoint);
  EXPECT_STREQ("grpc", to_string(c.options.otlp.protocol));
}

TEST(OtlpGrpcConfig, generic_endpoint_is_used_as_is_for_grpc) {
  const LoadedConfig c = load_args({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"},
                                                 {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"}});
  EXPECT_EQ("https://collector:4317", c.options.otlp.endpoint) << "no /v1/traces for gRPC";
  EXPECT_EQ(TracesExporter::kOtlp, c.options.exporter);
  const LoadedConfig flag = load_args({"-i", "x", "--protocol", "grpc", "--endpoint", "collector:4317"},
                                      {{"OTEL_EXPORTER_OTLP_INSECURE", "true"}});
  EXPECT_EQ("collector:4317", flag.options.otlp.endpoint);
  EXPECT_TRUE(flag.options.otlp.insecure);
  const LoadedConfig seed = load_args({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                                                    {"OTEL_ENDPOINT", "otel-collector:4317"}});
  EXPECT_EQ("http://otel-collector:4317", seed.options.otlp.endpoint);
}

TEST(OtlpGrpcConfig, http_rules_are_unchanged) {
  const LoadedConfig c = load_args({"-i", "x"}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}});
  EXPECT_EQ("http://c:4318/v1/traces", c.options.otlp.endpoint);
  EXPECT_NE(std::string::npos,
            startup_error_of({"-i", "x", "--endpoint", "collector:4318"}).find("endpoint"));
  EXPECT_NE(std::string::npos,
            startup_error_of({"-i", "x", "--protocol", "grpc2"}).find("http/protobuf, http/json or grpc"));
}

TEST(OtlpGrpcConfig, header_that_is_not_grpc_metadata_fails_at_start_without_its_value) {
  const std::string error = startup_error_of(
      {"-i", "x", "--endpoint", "http://c:4317"},
      {{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}, {"OTEL_EXPORTER_OTLP_HEADERS", "grpc-status=s3cr3t"}});
  EXPECT_NE(std::string::npos, error.find("gRPC metadata")) << error;
  EXPECT_EQ(std::string::npos, error.find("s3cr3t")) << error;
}

// ---- span metrics over gRPC (MetricsService/Export) ------------------------

TEST(OtlpGrpcMetrics, span_metrics_arrive_through_the_metrics_service) {
  const auto receiver = grpc_receiver();
  SpanMetricsStats stats;
  auto metrics = create_span_metrics({}, stats);
  SpanRecord http;
  http.start_time_unix_ns = 1'700'000'000'000'000'000ULL;
  http.end_time_unix_ns = http.start_time_unix_ns + 20'000'000;
  http.attributes.set_string("http.method", "GET");
  http.attributes.set_string("http.url", "/users/7");
  http.attributes.set_int("http.status_code", 200);
  metrics->on_span_finished("http_request", http);
  SpanRecord job;
  job.end_time_unix_ns = 1'000'000;
  metrics->on_span_finished("job", job);
  MetricsSnapshot snapshot;
  metrics->collect(snapshot);

  OtlpOptions options = fast_options(kGrpc, receiver->endpoint());
  options.compression = OtlpCompression::kGzip;
  auto exporter = create_otlp_metrics_exporter(test_resource(), create_otlp_grpc_metrics_transport(options, stats));
  EXPECT_EQ(exporter->export_metrics(snapshot, std::chrono::steady_clock::now() + 10s), ExportResult::kSuccess);

  const Received got = receiver->received();
  EXPECT_TRUE(got.errors.empty()) << got.errors.front();
  const std::multiset<std::string> names(got.metric_names.begin(), got.metric_names.end());
  EXPECT_EQ(names.count("http.server.request.duration"), 1u);
  EXPECT_EQ(names.count("bpftrace.spans"), 1u);
  EXPECT_EQ(names.count("bpftrace.span.duration"), 1u);
  EXPECT_GT(stats.data_points_exported.load(), 0u);
  EXPECT_EQ(got.spans.size(), 0u);  // metrics only: nothing on the trace service
}

}  // namespace
}  // namespace bto::testing
