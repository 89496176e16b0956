#include "otlp_test_fixture.h"

#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

namespace bto::testing {

std::string Transport::retryable_failure(int first, int server_delay_s) const {
  std::string json = "{\"fail_first\": " + std::to_string(first);
  if (grpc()) {
    json += R"(, "code": "UNAVAILABLE")";
    if (server_delay_s > 0) json += ", \"retry_delay_ms\": " + std::to_string(server_delay_s * 1000);
  } else {
    json += R"(, "status": 503)";
    if (server_delay_s > 0) json += ", \"retry_after\": \"" + std::to_string(server_delay_s) + "\"";
  }
  return json + "}";
}

std::string Transport::permanent_failure(const std::string& message) const {
  return std::string(grpc() ? R"({"code": "INVALID_ARGUMENT")" : R"({"status": 400)") + R"(, "message": ")" +
         message + "\"}";
}

const char* Transport::encoding_name(OtlpCompression compression) const {
  if (compression == OtlpCompression::kGzip) return "gzip";
  return grpc() ? "identity" : "";
}

void PrintTo(const Transport& transport, std::ostream* out) { *out << to_string(transport.protocol); }

std::string receiver_name(const ::testing::TestParamInfo<Transport>& info) {
  return info.param.grpc() ? "grpc" : "http";
}

std::string transport_name(const ::testing::TestParamInfo<Transport>& info) { return info.param.name; }

std::unique_ptr<TestReceiver> start_receiver(const Transport& transport, ReceiverOptions options) {
  options.protocol = transport.receiver;
  return std::make_unique<TestReceiver>(options);
}

ResourceInfo test_resource() {
  ResourceOptions options;
  options.service_name = "checkout";
  options.resource_attributes = "deployment.environment=test,team=a%20b";
  options.host_name = "test-host";
  options.exporter_mode = "native-usdt";
  return build_resource(options);
}

OtlpOptions fast_options(const Transport& transport, const std::string& endpoint) {
  OtlpOptions o;
  o.protocol = transport.protocol;
  o.endpoint = endpoint;
  o.timeout = 3s;
  // Mixed case: gRPC metadata keys must arrive lowercased.
  o.headers = {{"X-Api-Key", kSecret}, {"x-tenant", "t 1"}};
  o.retry.initial_backoff = 50ms;
  o.retry.max_backoff = 200ms;
  o.retry.max_attempts = 5;
  o.retry.max_elapsed = 20s;
  return o;
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

long long ms_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

LogCapture::LogCapture() : previous_(spdlog::default_logger()) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
}

LogCapture::~LogCapture() { spdlog::set_default_logger(previous_); }

std::filesystem::path* TlsTest::dir_ = nullptr;

void TlsTest::SetUpTestSuite() {
  namespace fs = std::filesystem;
  dir_ = new fs::path(fs::temp_directory_path() / ("bto-otlp-tls-" + std::to_string(getpid())));
  fs::create_directories(*dir_);
  std::ofstream(path("server.ext")) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                       "extendedKeyUsage=serverAuth\n";
  std::ofstream(path("client.ext")) << "extendedKeyUsage=clientAuth\n";
  make_ca("ca");
  make_ca("other-ca");
  make_leaf("server", "ca", "localhost");
  make_leaf("client", "ca", "bto-test-client");
}

void TlsTest::TearDownTestSuite() {
  std::error_code ignored;
  std::filesystem::remove_all(*dir_, ignored);
  delete dir_;
  dir_ = nullptr;
}

void TlsTest::make_ca(const std::string& name) {
  ASSERT_EQ(0, run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                            "-nodes", "-keyout", path(name + ".key"), "-out", path(name + ".crt"), "-days", "2",
                            "-subj", "/CN=bto test " + name}));
}

void TlsTest::make_leaf(const std::string& name, const std::string& ca, const std::string& cn) {
  ASSERT_EQ(0, run_command({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                            "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=" + cn}));
  ASSERT_EQ(0, run_command({"openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"),
                            "-CAkey", path(ca + ".key"), "-CAcreateserial", "-out", path(name + ".crt"), "-days",
                            "2", "-extfile", path(name + ".ext")}));
}

std::unique_ptr<TestReceiver> TlsTest::start(const Transport& transport, bool require_client_cert) {
  ReceiverOptions o;
  o.cert_file = path("server.crt");
  o.key_file = path("server.key");
  if (require_client_cert) o.client_ca_file = path("ca.crt");
  auto receiver = start_receiver(transport, o);
  receiver->ca_file = path("ca.crt");
  if (require_client_cert) {  // the HTTP receiver asks for it on its control requests too
    receiver->client_cert_file = path("client.crt");
    receiver->client_key_file = path("client.key");
  }
  return receiver;
}

OtlpOptions TlsTest::options(const Transport& transport, const std::string& endpoint) {
  OtlpOptions o = fast_options(transport, endpoint);
  o.retry.max_attempts = 2;
  o.retry.initial_backoff = 20ms;
  o.retry.max_backoff = 50ms;
  return o;
}

}  // namespace bto::testing
