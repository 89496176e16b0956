// The real OTLP/gRPC exporter against a real Python gRPC receiver that decodes
// with the official OTLP schema (otlp_grpc_receiver.py, started through
// TestReceiver), plus the pure parts (status classification, RetryInfo,
// endpoints, metadata) and the settings that select gRPC.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "config/config_test_util.h"
#include "export/batch_processor.h"
#include "export/grpc_transport.h"
#include "export/otlp_exporter.h"
#include "export/otlp_grpc_exporter.h"
#include "metrics/metrics_exporter.h"
#include "metrics/span_metrics.h"
#include "span_fixtures.h"
#include "test_receiver.h"

namespace bto::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kSecret = "s3cr3t-t0ken";

ResourceInfo test_resource() {
  ResourceOptions options;
  options.service_name = "checkout";
  options.resource_attributes = "deployment.environment=test,team=a%20b";
  options.host_name = "test-host";
  return build_resource(options);
}

// otlp_grpc_receiver.py serves gRPC on the port we choose; TestReceiver's own
// port() is the receiver's control server.
struct GrpcReceiver {
  explicit GrpcReceiver(ReceiverOptions options = {})
      : port(options.port != 0 ? options.port : free_port()), receiver(with_port(options, port)) {}
  static ReceiverOptions with_port(ReceiverOptions options, int port) {
    options.port = port;
    return options;
  }
  std::string endpoint(const std::string& scheme = "http://") const {
    return scheme + "127.0.0.1:" + std::to_string(port);
  }
  void control(const std::string& json) { receiver.control(json); }
  Received received() { return receiver.received(); }

  int port;
  TestReceiver receiver;
};

OtlpOptions fast_options(const std::string& endpoint) {
  OtlpOptions o;
  o.protocol = OtlpProtocol::kGrpc;
  o.endpoint = endpoint;
  o.timeout = 3s;
  o.headers = {{"X-Api-Key", kSecret}, {"x-tenant", "t 1"}};
  o.retry.initial_backoff = 50ms;
  o.retry.max_backoff = 200ms;
  o.retry.max_attempts = 5;
  o.retry.max_elapsed = 20s;
  return o;
}

class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

SpanBatch concat(std::initializer_list<SpanBatch*> batches) {
  SpanBatch all;
  for (SpanBatch* b : batches) {
    for (auto& s : b->owned) {
      all.pointers.push_back(s.get());
      all.owned.push_back(std::move(s));
    }
  }
  return all;
}

// ---- wire: every field, metadata, gzip, one persistent channel -------------

class OtlpGrpcWire : public ::testing::TestWithParam<OtlpCompression> {};

TEST_P(OtlpGrpcWire, delivers_every_field_exactly_once) {
  GrpcReceiver receiver;
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.endpoint());
  options.compression = GetParam();
  // Created by the generic factory: protocol grpc picks the gRPC exporter.
  auto exporter = create_otlp_exporter(options, resource, stats);

  SpanBatch first = make_spans(7, 1);
  SpanBatch second = make_spans(300, 2);
  SpanBatch third = make_spans(1, 3);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(first.view()));
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(second.view()));
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(third.view()));

  const SpanBatch all = concat({&first, &second, &third});
  const Received got = receiver.received();
  expect_received_exactly(all, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(3, got.accepted);
  const bool gzip = GetParam() == OtlpCompression::kGzip;
  ASSERT_EQ(3u, got.content_encodings.size()) << "gRPC messages seen on the wire";
  ASSERT_EQ(3u, got.headers.size());
  for (int i = 0; i < got.requests; ++i) {
    EXPECT_EQ(gzip ? "gzip" : "identity", got.content_encodings[i]) << "message " << i;
    EXPECT_EQ(kOtlpTraceExportMethod, got.headers[i].at(":path"));
    EXPECT_EQ(kSecret, got.headers[i].at("x-api-key")) << "metadata keys are lowercased";
    EXPECT_EQ("t 1", got.headers[i].at("x-tenant"));
    EXPECT_TRUE(got.headers[i].at("user-agent").starts_with("OTel-OTLP-Exporter-bpftrace-otel/"))
        << got.headers[i].at("user-agent");
  }
  ASSERT_EQ(3u, got.client_ports.size());
  EXPECT_EQ(got.client_ports[0], got.client_ports[1]) << "channel not persistent";
  EXPECT_EQ(got.client_ports[0], got.client_ports[2]) << "channel not persistent";
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
  EXPECT_GT(stats.export_latency_us_total, 0u);
  EXPECT_GT(stats.last_export_success_unix_ms, 0);
  EXPECT_EQ(0, stats.last_export_failure_unix_ms);
}

INSTANTIATE_TEST_SUITE_P(Compression, OtlpGrpcWire,
                         ::testing::Values(OtlpCompression::kNone, OtlpCompression::kGzip),
                         [](const ::testing::TestParamInfo<OtlpCompression>& info) {
                           return std::string(info.param == OtlpCompression::kGzip ? "gzip" : "plain");
                         });

// ---- faults ----------------------------------------------------------------

TEST(OtlpGrpcExporter, receiver_down_at_start_then_up) {
  const int port = free_port();
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options("http://127.0.0.1:" + std::to_string(port));
  options.retry.initial_backoff = 200ms;
  options.retry.max_backoff = 400ms;
  options.retry.max_attempts = 60;
  auto exporter = create_otlp_exporter(options, resource, stats);
  SpanBatch batch = make_spans(5);

  auto result = std::async(std::launch::async, [&] { return exporter->export_batch(batch.view()); });
  std::this_thread::sleep_for(700ms);
  ReceiverOptions receiver_options;
  receiver_options.port = port;
  GrpcReceiver receiver(receiver_options);
  ASSERT_EQ(ExportResult::kSuccess, result.get());
  expect_received_exactly(batch, receiver.received(), resource);
  EXPECT_GE(stats.export_retries, 1u);
  EXPECT_EQ(stats.export_requests, stats.export_retries + 1);
  EXPECT_EQ(0u, stats.export_failures);
}

TEST(OtlpGrpcExporter, retries_unavailable_until_accepted) {
  GrpcReceiver receiver;
  receiver.control(R"({"fail_first": 2, "code": "UNAVAILABLE"})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(receiver.endpoint()), resource, stats);
  SpanBatch batch = make_spans(10);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const Received got = receiver.received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
}

// The OTLP spec's retryable codes, each sent by the server once (one receiver,
// reset between codes: a receiver start costs ~0.5 s).
TEST(OtlpGrpcExporter, retries_each_retryable_code_once_then_delivers) {
  GrpcReceiver receiver;
  const ResourceInfo resource = test_resource();
  uint8_t seed = 10;
  for (const char* code : {"CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "DATA_LOSS"}) {
    SCOPED_TRACE(code);
    receiver.control(std::string(R"({"reset": true, "fail_first": 1, "code": ")") + code + R"("})");
    ExportStats stats;
    auto exporter = create_otlp_exporter(fast_options(receiver.endpoint()), resource, stats);
    SpanBatch batch = make_spans(3, seed++);
    ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
    expect_received_exactly(batch, receiver.received(), resource);
    EXPECT_EQ(2u, stats.export_requests);
    EXPECT_EQ(1u, stats.export_retries);
    EXPECT_EQ(0u, stats.export_failures);
  }
}

TEST(OtlpGrpcExporter, resource_exhausted_with_retry_info_waits_the_server_delay) {
  GrpcReceiver receiver;
  receiver.control(R"({"fail_first": 1, "code": "RESOURCE_EXHAUSTED", "retry_delay_ms": 1500})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(receiver.endpoint()), resource, stats);
  SpanBatch batch = make_spans(4);
  const auto start = Clock::now();
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const auto elapsed = ms_since(start);
  EXPECT_GE(elapsed, 1450) << "RetryInfo 1.5 s not honoured (backoff alone is <= 200 ms)";
  EXPECT_LT(elapsed, 4000);
  expect_received_exactly(batch, receiver.received(), resource);
  EXPECT_EQ(1u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
}

TEST(OtlpGrpcExporter, resource_exhausted_without_retry_info_is_dropped) {
  GrpcReceiver receiver;
  receiver.control(R"({"code": "RESOURCE_EXHAUSTED", "message": "quota gone"})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(receiver.endpoint()), test_resource(), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  EXPECT_EQ(1, receiver.received().requests);
  EXPECT_EQ(1u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_NE(std::string::npos, log.text().find("RESOURCE_EXHAUSTED")) << log.text();
  EXPECT_NE(std::string::npos, log.text().find("quota gone")) << log.text();
}

TEST(OtlpGrpcExporter, gives_up_at_once_when_retry_info_is_past_the_deadline) {
  GrpcReceiver receiver;
  receiver.control(R"({"code": "UNAVAILABLE", "retry_delay_ms": 30000})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.endpoint());
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

TEST(OtlpGrpcExporter, drops_invalid_argument_without_retry_and_logs_the_message) {
  GrpcReceiver receiver;
  receiver.control(R"({"code": "INVALID_ARGUMENT", "message": "span name too long"})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(receiver.endpoint()), test_resource(), stats);
  SpanBatch batch = make_spans(8);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  const Received got = receiver.received();
  EXPECT_EQ(1, got.requests);
  EXPECT_TRUE(got.spans.empty());
  EXPECT_EQ(1u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_GT(stats.last_export_failure_unix_ms, 0);
  const std::string text = log.text();
  EXPECT_NE(std::string::npos, text.find("INVALID_ARGUMENT")) << text;
  EXPECT_NE(std::string::npos, text.find("span name too long")) << text;
  EXPECT_NE(std::string::npos, text.find("8 spans dropped")) << text;
  EXPECT_EQ(std::string::npos, text.find(kSecret)) << "a header value leaked into the log";
}

TEST(OtlpGrpcExporter, retries_a_call_slower_than_the_deadline) {
  GrpcReceiver receiver;
  receiver.control(R"({"delay_ms": 1500, "delay_first": 1})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.endpoint());
  options.timeout = 400ms;
  auto exporter = create_otlp_exporter(options, resource, stats);
  SpanBatch batch = make_spans(6);
  const auto start = Clock::now();
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_GE(ms_since(start), 400);
  EXPECT_EQ(2u, stats.export_requests);
  EXPECT_EQ(1u, stats.export_retries);
  // Let the receiver finish the abandoned call before reading its state.
  std::this_thread::sleep_for(std::chrono::milliseconds(1700 - std::min<long long>(ms_since(start), 1700)));
  const Received got = receiver.received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(2, got.requests);
}

TEST(OtlpGrpcExporter, counts_partial_success_and_logs_the_message) {
  GrpcReceiver receiver;
  receiver.control(R"({"partial_success": {"rejected": 3, "message": "3 spans too old"}})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(receiver.endpoint()), test_resource(), stats);
  SpanBatch batch = make_spans(10);
  EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(10u, receiver.received().spans.size());
  EXPECT_EQ(3u, stats.dropped_partial_success);
  EXPECT_EQ(0u, stats.export_failures);
  EXPECT_NE(std::string::npos, log.text().find("rejected 3 of 10 spans")) << log.text();
  EXPECT_NE(std::string::npos, log.text().find("3 spans too old")) << log.text();
}

TEST(OtlpGrpcExporter, returns_retryable_when_attempts_are_exhausted) {
  GrpcReceiver receiver;
  receiver.control(R"({"code": "UNAVAILABLE"})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.endpoint());
  options.retry.max_attempts = 3;
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_EQ(ExportResult::kRetryable, exporter->export_batch(batch.view()));
  EXPECT_EQ(3, receiver.received().requests);
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
}

TEST(OtlpGrpcExporter, shutdown_from_another_thread_interrupts_backoff) {
  GrpcReceiver receiver;
  receiver.control(R"({"code": "UNAVAILABLE", "retry_delay_ms": 10000})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.endpoint());
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
  EXPECT_EQ(1, receiver.received().requests);
}

TEST(OtlpGrpcExporter, shutdown_from_another_thread_cancels_an_in_flight_call) {
  GrpcReceiver receiver;
  receiver.control(R"({"delay_ms": 5000, "delay_first": 1})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.endpoint());
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

TEST(OtlpGrpcExporter, empty_batch_sends_nothing) {
  GrpcReceiver receiver;
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(receiver.endpoint()), test_resource(), stats);
  EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch({}));
  EXPECT_EQ(0, receiver.received().requests);
  EXPECT_TRUE(exporter->force_flush(1s));
}

TEST(OtlpGrpcExporter, batch_processor_counts_match_what_the_receiver_got) {
  GrpcReceiver receiver;
  receiver.control(R"({"fail_first": 2, "code": "UNAVAILABLE"})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  SpanPool pool;
  BatchOptions batch_options;
  batch_options.max_export_batch_size = 100;
  batch_options.schedule_delay = 50ms;
  const OtlpOptions options = fast_options(receiver.endpoint());
  auto processor = create_batch_processor(
      batch_options, [&] { return create_otlp_exporter(options, resource, stats); }, pool, stats);
  SpanBatch sent = make_spans(1000, 4);
  for (const auto& s : sent.owned) {
    SpanPtr span = pool.acquire();
    *span = *s;
    processor->on_span_finished(std::move(span));
  }
  processor->shutdown(20s);
  const Received got = receiver.received();
  expect_received_exactly(sent, got, resource);
  EXPECT_EQ(1000u, stats.spans_enqueued);
  EXPECT_EQ(1000u, stats.spans_exported);
  EXPECT_EQ(0u, stats.dropped_total());
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(static_cast<uint64_t>(got.requests), stats.export_requests);
  EXPECT_EQ(static_cast<uint64_t>(got.accepted) + 2, stats.export_requests);
}

// The method is an option: a call of a method the server does not serve gets
// UNIMPLEMENTED (permanent) and never reaches the trace handler; the metrics
// method reaches the metrics handler.
TEST(GrpcTransport, calls_the_configured_method) {
  GrpcReceiver receiver;
  GrpcTransportOptions options;
  options.endpoint = receiver.endpoint();
  options.method = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
  auto unserved = create_grpc_transport(options);
  const GrpcResponse& response = unserved->call("", 3s);
  EXPECT_EQ(12, response.code) << response.message;  // UNIMPLEMENTED
  EXPECT_STREQ("UNIMPLEMENTED", grpc_code_name(response.code));
  EXPECT_EQ(ExportResult::kPermanent, classify_grpc_status(response.code, false));

  options.method = kOtlpMetricsExportMethod;
  auto metrics = create_grpc_transport(options);
  EXPECT_EQ(0, metrics->call("", 3s).code);  // an empty ExportMetricsServiceRequest is valid
  EXPECT_EQ(0, receiver.received().requests) << "the trace handler must not see either call";
}

// ---- TLS ---------------------------------------------------------------------

class OtlpGrpcTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("bto-otlp-grpc-tls-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    std::ofstream(path("server.ext")) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                         "extendedKeyUsage=serverAuth\n";
    std::ofstream(path("client.ext")) << "extendedKeyUsage=clientAuth\n";
    make_ca("ca");
    make_ca("other-ca");
    make_leaf("server", "ca", "localhost");
    make_leaf("client", "ca", "bto-test-client");
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }
  static void make_ca(const std::string& name) {
    ASSERT_EQ(0, run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path(name + ".key"), "-out",
                              path(name + ".crt"), "-days", "2", "-subj", "/CN=bto test " + name}));
  }
  static void make_leaf(const std::string& name, const std::string& ca, const std::string& cn) {
    ASSERT_EQ(0, run_command({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                              "-nodes", "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj",
                              "/CN=" + cn}));
    ASSERT_EQ(0, run_command({"openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"),
                              "-CAkey", path(ca + ".key"), "-CAcreateserial", "-out", path(name + ".crt"),
                              "-days", "2", "-extfile", path(name + ".ext")}));
  }
  // A TLS receiver; the control channel (curl) trusts our CA.
  static std::unique_ptr<GrpcReceiver> start(bool require_client_cert) {
    ReceiverOptions o;
    o.cert_file = path("server.crt");
    o.key_file = path("server.key");
    if (require_client_cert) o.client_ca_file = path("ca.crt");
    auto receiver = std::make_unique<GrpcReceiver>(o);
    receiver->receiver.ca_file = path("ca.crt");
    return receiver;
  }
  static OtlpOptions options(const std::string& endpoint) {
    OtlpOptions o = fast_options(endpoint);
    o.retry.max_attempts = 2;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 50ms;
    return o;
  }
  static fs::path* dir_;
};

fs::path* OtlpGrpcTls::dir_ = nullptr;

TEST_F(OtlpGrpcTls, exports_over_tls_verified_with_the_given_ca) {
  auto receiver = start(false);
  OtlpOptions o = options(receiver->endpoint("https://"));
  o.certificate_file = path("ca.crt");
  EXPECT_EQ("", validate_otlp_options(o));
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  auto exporter = create_otlp_exporter(o, resource, stats);
  SpanBatch batch = make_spans(20);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const Received got = receiver->received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(kSecret, got.headers.at(0).at("x-api-key"));
}

TEST_F(OtlpGrpcTls, endpoint_without_scheme_is_tls_unless_insecure) {
  auto receiver = start(false);
  OtlpOptions o = options("127.0.0.1:" + std::to_string(receiver->port));
  o.certificate_file = path("ca.crt");
  EXPECT_EQ("", validate_otlp_options(o));
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  SpanBatch batch = make_spans(3);
  ASSERT_EQ(ExportResult::kSuccess, create_otlp_exporter(o, resource, stats)->export_batch(batch.view()));
  expect_received_exactly(batch, receiver->received(), resource);

  GrpcReceiver plaintext;
  OtlpOptions insecure = options("127.0.0.1:" + std::to_string(plaintext.port));
  insecure.insecure = true;
  SpanBatch other = make_spans(4, 9);
  ASSERT_EQ(ExportResult::kSuccess, create_otlp_exporter(insecure, resource, stats)->export_batch(other.view()));
  expect_received_exactly(other, plaintext.received(), resource);
}

TEST_F(OtlpGrpcTls, rejects_a_server_signed_by_an_unknown_ca) {
  auto receiver = start(false);
  OtlpOptions o = options(receiver->endpoint("https://"));
  o.certificate_file = path("other-ca.crt");
  ExportStats stats;
  auto exporter = create_otlp_exporter(o, build_resource({}), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_NE(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_EQ(0, receiver->received().requests);
}

TEST_F(OtlpGrpcTls, insecure_skip_verify_accepts_an_unknown_ca) {
  auto receiver = start(false);
  OtlpOptions o = options(receiver->endpoint("https://"));
  o.insecure_skip_verify = true;
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  auto exporter = create_otlp_exporter(o, resource, stats);
  SpanBatch batch = make_spans(3);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  expect_received_exactly(batch, receiver->received(), resource);
}

TEST_F(OtlpGrpcTls, mtls_exports_with_a_client_certificate_and_gzip) {
  auto receiver = start(true);
  OtlpOptions o = options(receiver->endpoint("https://"));
  o.certificate_file = path("ca.crt");
  o.client_certificate_file = path("client.crt");
  o.client_key_file = path("client.key");
  o.compression = OtlpCompression::kGzip;
  EXPECT_EQ("", validate_otlp_options(o));
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  auto exporter = create_otlp_exporter(o, resource, stats);
  SpanBatch batch = make_spans(20);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  expect_received_exactly(batch, receiver->received(), resource);
}

TEST_F(OtlpGrpcTls, mtls_without_a_client_certificate_delivers_nothing) {
  auto receiver = start(true);
  OtlpOptions o = options(receiver->endpoint("https://"));
  o.certificate_file = path("ca.crt");
  ExportStats stats;
  auto exporter = create_otlp_exporter(o, build_resource({}), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_NE(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_EQ(0, receiver->received().requests);
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
  OtlpOptions o = fast_options("http://127.0.0.1:4317");
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
  GrpcReceiver receiver;
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

  OtlpOptions options = fast_options(receiver.endpoint());
  options.compression = OtlpCompression::kGzip;
  auto exporter = create_otlp_metrics_exporter(test_resource(), create_otlp_grpc_metrics_transport(options, stats));
  EXPECT_EQ(exporter->export_metrics(snapshot, std::chrono::steady_clock::now() + 10s), ExportResult::kSuccess);

  const Received got = receiver.received();
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
