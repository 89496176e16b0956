#pragma once
// What the OTLP exporter tests share, over OTLP/HTTP and OTLP/gRPC alike: the
// transports a suite is parametrised by (with each receiver's way of saying
// "fail"), the resource and fast-retry options the exporter gets, a log
// capture, and the openssl-made certificates of the TLS suites.
//
// A check that holds for every transport is one TEST_P instantiated over
// kEveryTransport: it runs once against otlp_receiver.py (OTLP/HTTP) and once
// against otlp_grpc_receiver.py (OTLP/gRPC). See docs/testing.md.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>

#include "export/otlp_exporter.h"
#include "export/resource.h"
#include "span_fixtures.h"
#include "test_receiver.h"

namespace bto::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A header value the exporter is given: it must reach the receiver and never our log.
inline constexpr const char* kSecret = "s3cr3t-t0ken";

// One way of exporting to a test receiver.
struct Transport {
  const char* name;           // test name suffix
  OtlpProtocol protocol;      // what the exporter speaks
  ReceiverProtocol receiver;  // which receiver decodes it

  bool grpc() const { return receiver == ReceiverProtocol::kGrpc; }
  // Control settings (TestReceiver::control): the next `first` calls (-1:
  // every call) fail as retryable, HTTP 503 / gRPC UNAVAILABLE, with the
  // server asking for `server_delay_s` (Retry-After / RetryInfo) when > 0.
  std::string retryable_failure(int first, int server_delay_s = 0) const;
  // Every call fails permanently with `message`: HTTP 400 / gRPC INVALID_ARGUMENT.
  std::string permanent_failure(const std::string& message) const;
  // How our log names that permanent failure.
  const char* permanent_failure_name() const { return grpc() ? "INVALID_ARGUMENT" : "HTTP 400"; }
  // How the receiver reports a request's encoding: HTTP Content-Encoding ("" for
  // none), or the compressed flag of each gRPC message ("identity" for none).
  const char* encoding_name(OtlpCompression compression) const;
};

// gtest prints a parameter into the listed test name: the protocol, not its bytes.
void PrintTo(const Transport& transport, std::ostream* out);

inline constexpr Transport kHttpProtobuf{"protobuf", OtlpProtocol::kHttpProtobuf, ReceiverProtocol::kHttp};
inline constexpr Transport kHttpJson{"json", OtlpProtocol::kHttpJson, ReceiverProtocol::kHttp};
inline constexpr Transport kGrpc{"grpc", OtlpProtocol::kGrpc, ReceiverProtocol::kGrpc};

// The suites that hold for every transport:
//   INSTANTIATE_TEST_SUITE_P(Transports, Suite, ::testing::ValuesIn(kEveryTransport), receiver_name);
inline constexpr std::array<Transport, 2> kEveryTransport{kHttpProtobuf, kGrpc};
std::string receiver_name(const ::testing::TestParamInfo<Transport>& info);  // http, grpc
std::string transport_name(const ::testing::TestParamInfo<Transport>& info);  // protobuf, json, grpc

// A receiver of `transport`'s kind (TLS, port: see ReceiverOptions).
std::unique_ptr<TestReceiver> start_receiver(const Transport& transport, ReceiverOptions options = {});

// service.name checkout, two OTEL_RESOURCE_ATTRIBUTES, a fixed host name.
ResourceInfo test_resource();

// `transport` to `endpoint` with the two test headers (one of them kSecret),
// a 3 s timeout and retries fast enough for a test (50-200 ms backoff, 5 attempts).
OtlpOptions fast_options(const Transport& transport, const std::string& endpoint);

// The spans of several batches as one (for expect_received_exactly).
SpanBatch concat(std::initializer_list<SpanBatch*> batches);

long long ms_since(Clock::time_point start);

// Captures spdlog output for one test.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return stream_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

// The TLS suites' fixture: certificates made by openssl for this suite only,
// in a temporary directory: ca.{crt,key}, other-ca.{crt,key} (a CA nobody
// trusts), server.{crt,key} (127.0.0.1 and localhost, signed by ca) and
// client.{crt,key} (signed by ca). Parametrised by transport for TEST_P; a
// TEST_F on it simply does not call GetParam().
class TlsTest : public ::testing::TestWithParam<Transport> {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  // A TLS receiver (mTLS with `require_client_cert`); the test's own requests
  // to it trust our CA (and present our client certificate).
  static std::unique_ptr<TestReceiver> start(const Transport& transport, bool require_client_cert);
  // fast_options with 2 attempts and 20-50 ms backoff: a handshake failure fails fast.
  static OtlpOptions options(const Transport& transport, const std::string& endpoint);

 private:
  static void make_ca(const std::string& name);
  static void make_leaf(const std::string& name, const std::string& ca, const std::string& cn);
  static std::filesystem::path* dir_;
};

}  // namespace bto::testing
