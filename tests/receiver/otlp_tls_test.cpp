// https and mTLS against the test receiver, with certificates made by openssl
// for this run only.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "export/otlp_exporter.h"
#include "span_fixtures.h"
#include "test_receiver.h"

namespace bto::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class OtlpTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
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
  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(*dir_, ignored);
    delete dir_;
  }

  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  static void make_ca(const std::string& name) {
    ASSERT_EQ(0, run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                              "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path(name + ".key"),
                              "-out", path(name + ".crt"), "-days", "2", "-subj", "/CN=bto test " + name}));
  }
  static void make_leaf(const std::string& name, const std::string& ca, const std::string& cn) {
    ASSERT_EQ(0, run_command({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                              "-nodes", "-keyout", path(name + ".key"), "-out", path(name + ".csr"),
                              "-subj", "/CN=" + cn}));
    ASSERT_EQ(0, run_command({"openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"),
                              "-CAkey", path(ca + ".key"), "-CAcreateserial", "-out", path(name + ".crt"),
                              "-days", "2", "-extfile", path(name + ".ext")}));
  }

  static ReceiverOptions server(bool require_client_cert) {
    ReceiverOptions o;
    o.cert_file = path("server.crt");
    o.key_file = path("server.key");
    if (require_client_cert) o.client_ca_file = path("ca.crt");
    return o;
  }

  static void trust(TestReceiver& receiver, bool with_client_cert) {
    receiver.ca_file = path("ca.crt");
    if (with_client_cert) {
      receiver.client_cert_file = path("client.crt");
      receiver.client_key_file = path("client.key");
    }
  }

  static OtlpOptions options(const std::string& url) {
    OtlpOptions o;
    o.endpoint = url;
    o.timeout = 3s;
    o.retry.initial_backoff = 20ms;
    o.retry.max_backoff = 50ms;
    o.retry.max_attempts = 2;
    return o;
  }

  static fs::path* dir_;
};

fs::path* OtlpTls::dir_ = nullptr;

TEST_F(OtlpTls, exports_over_https_verified_with_the_given_ca) {
  TestReceiver receiver(server(false));
  trust(receiver, false);
  OtlpOptions o = options(receiver.traces_url());
  o.certificate_file = path("ca.crt");
  EXPECT_TRUE(validate_otlp_options(o).empty());
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  auto exporter = create_otlp_exporter(o, resource, stats);
  SpanBatch batch = make_spans(20);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  expect_received_exactly(batch, receiver.received(), resource);
}

TEST_F(OtlpTls, rejects_a_server_signed_by_an_unknown_ca) {
  TestReceiver receiver(server(false));
  trust(receiver, false);
  OtlpOptions o = options(receiver.traces_url());
  o.certificate_file = path("other-ca.crt");
  ExportStats stats;
  auto exporter = create_otlp_exporter(o, build_resource({}), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_TRUE(receiver.received().spans.empty());
}

TEST_F(OtlpTls, insecure_skip_verify_accepts_an_unknown_ca) {
  TestReceiver receiver(server(false));
  trust(receiver, false);
  OtlpOptions o = options(receiver.traces_url());
  o.insecure_skip_verify = true;
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  auto exporter = create_otlp_exporter(o, resource, stats);
  SpanBatch batch = make_spans(3);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  expect_received_exactly(batch, receiver.received(), resource);
}

TEST_F(OtlpTls, mtls_exports_with_a_client_certificate) {
  TestReceiver receiver(server(true));
  trust(receiver, true);
  OtlpOptions o = options(receiver.traces_url());
  o.certificate_file = path("ca.crt");
  o.client_certificate_file = path("client.crt");
  o.client_key_file = path("client.key");
  o.compression = OtlpCompression::kGzip;
  EXPECT_TRUE(validate_otlp_options(o).empty());
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  auto exporter = create_otlp_exporter(o, resource, stats);
  SpanBatch batch = make_spans(20);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  expect_received_exactly(batch, receiver.received(), resource);
}

TEST_F(OtlpTls, mtls_without_a_client_certificate_delivers_nothing) {
  TestReceiver receiver(server(true));
  trust(receiver, true);
  OtlpOptions o = options(receiver.traces_url());
  o.certificate_file = path("ca.crt");
  ExportStats stats;
  auto exporter = create_otlp_exporter(o, build_resource({}), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_NE(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_TRUE(receiver.received().spans.empty());
}

TEST_F(OtlpTls, validate_reports_unreadable_files_and_half_mtls) {
  OtlpOptions o = options("https://127.0.0.1:1/v1/traces");
  o.certificate_file = path("missing.crt");
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("not readable"));
  o.certificate_file = path("ca.crt");
  o.client_certificate_file = path("client.crt");
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("both"));
}

}  // namespace
}  // namespace bto::testing
