// The real OTLP exporter against the real test receiver (official schema).

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <future>
#include <sstream>
#include <thread>

#include "export/otlp_exporter.h"
#include "span_fixtures.h"
#include "test_receiver.h"

namespace bto::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecret = "s3cr3t-t0ken";

ResourceInfo test_resource() {
  ResourceOptions options;
  options.service_name = "checkout";
  options.resource_attributes = "deployment.environment=test,team=a%20b";
  options.host_name = "test-host";
  options.exporter_mode = "native-usdt";
  return build_resource(options);
}

OtlpOptions fast_options(const std::string& url) {
  OtlpOptions o;
  o.endpoint = url;
  o.timeout = 3s;
  o.headers = {{"x-api-key", kSecret}, {"x-tenant", "t 1"}};
  o.retry.initial_backoff = 50ms;
  o.retry.max_backoff = 200ms;
  o.retry.max_attempts = 5;
  o.retry.max_elapsed = 20s;
  return o;
}

// Captures spdlog output for one test.
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

struct WireCase {
  OtlpProtocol protocol;
  OtlpCompression compression;
};

class OtlpWire : public ::testing::TestWithParam<WireCase> {};

TEST_P(OtlpWire, delivers_every_field_exactly_once) {
  TestReceiver receiver;
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.traces_url());
  options.protocol = GetParam().protocol;
  options.compression = GetParam().compression;
  auto exporter = create_otlp_exporter(options, resource, stats);

  // Three batches over one kept-alive connection; the middle one is big enough
  // for multi-byte length prefixes everywhere.
  SpanBatch first = make_spans(7, 1);
  SpanBatch second = make_spans(300, 2);
  SpanBatch third = make_spans(1, 3);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(first.view()));
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(second.view()));
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(third.view()));

  SpanBatch all;
  for (SpanBatch* b : {&first, &second, &third}) {
    for (auto& s : b->owned) {
      all.pointers.push_back(s.get());
      all.owned.push_back(std::move(s));
    }
  }
  const Received got = receiver.received();
  expect_received_exactly(all, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(3, got.accepted);
  const bool json = GetParam().protocol == OtlpProtocol::kHttpJson;
  const bool gzip = GetParam().compression == OtlpCompression::kGzip;
  for (int i = 0; i < got.requests; ++i) {
    EXPECT_EQ(json ? "application/json" : "application/x-protobuf", got.content_types[i]);
    EXPECT_EQ(gzip ? "gzip" : "", got.content_encodings[i]);
    EXPECT_EQ(kSecret, got.headers[i].at("x-api-key"));
    EXPECT_EQ("t 1", got.headers[i].at("x-tenant"));
    EXPECT_TRUE(got.headers[i].at("user-agent").starts_with("OTel-OTLP-Exporter-bpftrace-otel/"));
  }
  ASSERT_EQ(3u, got.client_ports.size());
  EXPECT_EQ(got.client_ports[0], got.client_ports[1]) << "connection not kept alive";
  EXPECT_EQ(got.client_ports[0], got.client_ports[2]) << "connection not kept alive";
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
  EXPECT_GT(stats.export_latency_us_total, 0u);
  // Per-batch span counts belong to the BatchProcessor.
  EXPECT_EQ(0u, stats.spans_exported);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, OtlpWire,
    ::testing::Values(WireCase{OtlpProtocol::kHttpProtobuf, OtlpCompression::kNone},
                      WireCase{OtlpProtocol::kHttpProtobuf, OtlpCompression::kGzip},
                      WireCase{OtlpProtocol::kHttpJson, OtlpCompression::kNone},
                      WireCase{OtlpProtocol::kHttpJson, OtlpCompression::kGzip}),
    [](const ::testing::TestParamInfo<WireCase>& info) {
      return std::string(info.param.protocol == OtlpProtocol::kHttpJson ? "json" : "protobuf") +
             (info.param.compression == OtlpCompression::kGzip ? "_gzip" : "_plain");
    });

TEST(OtlpExporter, receiver_down_at_start_then_up) {
  const int port = free_port();
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options("http://127.0.0.1:" + std::to_string(port) + "/v1/traces");
  options.retry.initial_backoff = 200ms;
  options.retry.max_backoff = 400ms;
  options.retry.max_attempts = 60;
  auto exporter = create_otlp_exporter(options, resource, stats);
  SpanBatch batch = make_spans(5);

  auto result = std::async(std::launch::async, [&] { return exporter->export_batch(batch.view()); });
  std::this_thread::sleep_for(700ms);
  ReceiverOptions receiver_options;
  receiver_options.port = port;
  TestReceiver receiver(receiver_options);
  ASSERT_EQ(ExportResult::kSuccess, result.get());
  expect_received_exactly(batch, receiver.received(), resource);
  EXPECT_GE(stats.export_retries, 1u);
  EXPECT_EQ(stats.export_requests, stats.export_retries + 1);
  EXPECT_EQ(0u, stats.export_failures);
}

TEST(OtlpExporter, retries_503_until_accepted) {
  TestReceiver receiver;
  receiver.control(R"({"fail_first": 2, "status": 503})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(receiver.traces_url()), resource, stats);
  SpanBatch batch = make_spans(10);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const Received got = receiver.received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(0u, stats.export_failures);
}

TEST(OtlpExporter, honours_retry_after_on_429) {
  TestReceiver receiver;
  receiver.control(R"({"fail_first": 1, "status": 429, "retry_after": "2"})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(receiver.traces_url()), resource, stats);
  SpanBatch batch = make_spans(3);
  const auto start = Clock::now();
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const auto elapsed = ms_since(start);
  EXPECT_GE(elapsed, 1950) << "Retry-After: 2 not honoured (backoff alone is <= 200 ms)";
  EXPECT_LT(elapsed, 4000);
  expect_received_exactly(batch, receiver.received(), resource);
  EXPECT_EQ(1u, stats.export_retries);
}

TEST(OtlpExporter, gives_up_at_once_when_retry_after_is_past_the_deadline) {
  TestReceiver receiver;
  receiver.control(R"({"status": 503, "retry_after": "30"})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.traces_url());
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

TEST(OtlpExporter, retries_after_connection_reset) {
  TestReceiver receiver;
  receiver.control(R"({"reset_connection_first": 2})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(receiver.traces_url()), resource, stats);
  SpanBatch batch = make_spans(4);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  const Received got = receiver.received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(3, got.requests);
  EXPECT_EQ(2u, stats.export_retries);
}

TEST(OtlpExporter, retries_a_response_slower_than_the_timeout) {
  TestReceiver receiver;
  receiver.control(R"({"delay_ms": 1500, "delay_first": 1})");
  const ResourceInfo resource = test_resource();
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.traces_url());
  options.timeout = 400ms;
  auto exporter = create_otlp_exporter(options, resource, stats);
  SpanBatch batch = make_spans(6);
  const auto start = Clock::now();
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_GE(ms_since(start), 400);
  EXPECT_EQ(1u, stats.export_retries);
  // Let the receiver finish the abandoned request before reading its state.
  std::this_thread::sleep_for(std::chrono::milliseconds(1700 - std::min<long long>(ms_since(start), 1700)));
  const Received got = receiver.received();
  expect_received_exactly(batch, got, resource);
  EXPECT_EQ(2, got.requests);
}

TEST(OtlpExporter, drops_400_without_retry_and_logs_the_message) {
  TestReceiver receiver;
  receiver.control(R"({"status": 400, "message": "span name too long"})");
  ExportStats stats;
  LogCapture log;
  auto exporter = create_otlp_exporter(fast_options(receiver.traces_url()), test_resource(), stats);
  SpanBatch batch = make_spans(8);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  const Received got = receiver.received();
  EXPECT_EQ(1, got.requests);
  EXPECT_TRUE(got.spans.empty());
  EXPECT_EQ(1u, stats.export_requests);
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
  const std::string text = log.text();
  EXPECT_NE(std::string::npos, text.find("HTTP 400")) << text;
  EXPECT_NE(std::string::npos, text.find("span name too long")) << text;
  EXPECT_NE(std::string::npos, text.find("8 spans dropped")) << text;
  EXPECT_EQ(std::string::npos, text.find(kSecret)) << "a header value leaked into the log";
}

TEST(OtlpExporter, drops_400_json_status_message_too) {
  TestReceiver receiver;
  receiver.control(R"({"status": 400, "message": "bad \"json\" payload"})");
  ExportStats stats;
  LogCapture log;
  OtlpOptions options = fast_options(receiver.traces_url());
  options.protocol = OtlpProtocol::kHttpJson;
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(1);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  EXPECT_NE(std::string::npos, log.text().find("bad \"json\" payload")) << log.text();
}

class OtlpPartial : public ::testing::TestWithParam<OtlpProtocol> {};

TEST_P(OtlpPartial, counts_rejected_spans_and_logs_message) {
  TestReceiver receiver;
  receiver.control(R"({"partial_success": {"rejected": 3, "message": "3 spans too old"}})");
  ExportStats stats;
  LogCapture log;
  OtlpOptions options = fast_options(receiver.traces_url());
  options.protocol = GetParam();
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(10);
  EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(3u, stats.dropped_partial_success);
  EXPECT_EQ(0u, stats.export_failures);
  EXPECT_NE(std::string::npos, log.text().find("rejected 3 of 10 spans")) << log.text();
  EXPECT_NE(std::string::npos, log.text().find("3 spans too old")) << log.text();
}

INSTANTIATE_TEST_SUITE_P(Formats, OtlpPartial,
                         ::testing::Values(OtlpProtocol::kHttpProtobuf, OtlpProtocol::kHttpJson),
                         [](const ::testing::TestParamInfo<OtlpProtocol>& info) {
                           return std::string(info.param == OtlpProtocol::kHttpJson ? "json" : "protobuf");
                         });

TEST(OtlpExporter, returns_retryable_when_attempts_are_exhausted) {
  TestReceiver receiver;
  receiver.control(R"({"status": 503})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.traces_url());
  options.retry.max_attempts = 3;
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_EQ(ExportResult::kRetryable, exporter->export_batch(batch.view()));
  EXPECT_EQ(3, receiver.received().requests);
  EXPECT_EQ(3u, stats.export_requests);
  EXPECT_EQ(2u, stats.export_retries);
  EXPECT_EQ(1u, stats.export_failures);
}

TEST(OtlpExporter, shutdown_from_another_thread_interrupts_backoff) {
  TestReceiver receiver;
  receiver.control(R"({"status": 503, "retry_after": "10"})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.traces_url());
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

TEST(OtlpExporter, shutdown_from_another_thread_interrupts_a_slow_request) {
  TestReceiver receiver;
  receiver.control(R"({"delay_ms": 5000, "delay_first": 1})");
  ExportStats stats;
  OtlpOptions options = fast_options(receiver.traces_url());
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
}

TEST(OtlpExporter, empty_batch_sends_nothing) {
  TestReceiver receiver;
  ExportStats stats;
  auto exporter = create_otlp_exporter(fast_options(receiver.traces_url()), test_resource(), stats);
  EXPECT_EQ(ExportResult::kSuccess, exporter->export_batch({}));
  EXPECT_EQ(0, receiver.received().requests);
  EXPECT_TRUE(exporter->force_flush(1s));
}

TEST(OtlpExporter, bad_endpoint_scheme_is_a_permanent_error) {
  ExportStats stats;
  OtlpOptions options = fast_options("ftp://127.0.0.1:1/v1/traces");
  EXPECT_FALSE(validate_otlp_options(options).empty());
  auto exporter = create_otlp_exporter(options, test_resource(), stats);
  SpanBatch batch = make_spans(1);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
}

}  // namespace
}  // namespace bto::testing
