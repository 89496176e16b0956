// https / gRPC over TLS and mTLS against the test receivers, with certificates
// made by openssl for this run only (TlsTest, otlp_test_fixture.h): what holds
// over both transports, then what differs.

#include <grpc/grpc.h>
#include <gtest/gtest.h>

#include <string>

#include "export/otlp_exporter.h"
#include "otlp_test_fixture.h"
#include "span_fixtures.h"
#include "test_receiver.h"

namespace bto::testing {
namespace {

class OtlpTls : public TlsTest {};

TEST_P(OtlpTls, exports_verified_with_the_given_ca) {
  const auto receiver = start(GetParam(), false);
  OtlpOptions o = options(GetParam(), receiver->endpoint());
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

TEST_P(OtlpTls, insecure_skip_verify_accepts_an_unknown_ca) {
  const auto receiver = start(GetParam(), false);
  OtlpOptions o = options(GetParam(), receiver->endpoint());
  o.insecure_skip_verify = true;
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  auto exporter = create_otlp_exporter(o, resource, stats);
  SpanBatch batch = make_spans(3);
  ASSERT_EQ(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  expect_received_exactly(batch, receiver->received(), resource);
}

TEST_P(OtlpTls, mtls_exports_with_a_client_certificate_and_gzip) {
  const auto receiver = start(GetParam(), true);
  OtlpOptions o = options(GetParam(), receiver->endpoint());
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

TEST_P(OtlpTls, mtls_without_a_client_certificate_delivers_nothing) {
  const auto receiver = start(GetParam(), true);
  OtlpOptions o = options(GetParam(), receiver->endpoint());
  o.certificate_file = path("ca.crt");
  ExportStats stats;
  auto exporter = create_otlp_exporter(o, build_resource({}), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_NE(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(1u, stats.export_failures);
  const Received got = receiver->received();
  EXPECT_TRUE(got.spans.empty());
  EXPECT_EQ(0, got.requests);
}

INSTANTIATE_TEST_SUITE_P(Transports, OtlpTls, ::testing::ValuesIn(kEveryTransport), receiver_name);

// ---- OTLP/HTTP: an unverifiable server is a permanent error (curl) -------------------

TEST_F(OtlpTls, rejects_a_server_signed_by_an_unknown_ca) {
  const auto receiver = start(kHttpProtobuf, false);
  OtlpOptions o = options(kHttpProtobuf, receiver->endpoint());
  o.certificate_file = path("other-ca.crt");
  ExportStats stats;
  auto exporter = create_otlp_exporter(o, build_resource({}), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_EQ(ExportResult::kPermanent, exporter->export_batch(batch.view()));
  EXPECT_EQ(0u, stats.export_retries);
  EXPECT_TRUE(receiver->received().spans.empty());
}

TEST_F(OtlpTls, validate_reports_unreadable_files_and_half_mtls) {
  OtlpOptions o = options(kHttpProtobuf, "https://127.0.0.1:1/v1/traces");
  o.certificate_file = path("missing.crt");
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("not readable"));
  o.certificate_file = path("ca.crt");
  o.client_certificate_file = path("client.crt");
  EXPECT_NE(std::string::npos, validate_otlp_options(o).find("both"));
}

// ---- OTLP/gRPC: the scheme decides TLS; a failed handshake is UNAVAILABLE --------------

// gRPC frees the subchannel of a failed handshake on its own threads after the
// channel is gone. A process that exits meanwhile runs its static destructors
// under those threads (our log sink once read a freed global there) and
// LeakSanitizer finds their half-freed TLS objects. The last exporter to go
// waits until gRPC has shut down.
TEST_F(OtlpTls, grpc_has_shut_down_when_the_last_exporter_is_gone) {
  const auto receiver = start(kGrpc, true);
  OtlpOptions o = options(kGrpc, receiver->endpoint());
  o.certificate_file = path("ca.crt");  // no client certificate: the handshake fails
  for (int round = 0; round < 3; ++round) {
    ExportStats stats;
    auto exporter = create_otlp_exporter(o, build_resource({}), stats);
    SpanBatch batch = make_spans(2);
    EXPECT_NE(ExportResult::kSuccess, exporter->export_batch(batch.view()));
    exporter.reset();
    EXPECT_EQ(0, grpc_is_initialized()) << "round " << round;
  }
}

class OtlpGrpcTls : public TlsTest {};

TEST_F(OtlpGrpcTls, endpoint_without_scheme_is_tls_unless_insecure) {
  const auto receiver = start(kGrpc, false);
  OtlpOptions o = options(kGrpc, "127.0.0.1:" + std::to_string(receiver->port()));
  o.certificate_file = path("ca.crt");
  EXPECT_EQ("", validate_otlp_options(o));
  ExportStats stats;
  const ResourceInfo resource = build_resource({});
  SpanBatch batch = make_spans(3);
  ASSERT_EQ(ExportResult::kSuccess, create_otlp_exporter(o, resource, stats)->export_batch(batch.view()));
  expect_received_exactly(batch, receiver->received(), resource);

  const auto plaintext = start_receiver(kGrpc);
  OtlpOptions insecure = options(kGrpc, "127.0.0.1:" + std::to_string(plaintext->port()));
  insecure.insecure = true;
  SpanBatch other = make_spans(4, 9);
  ASSERT_EQ(ExportResult::kSuccess, create_otlp_exporter(insecure, resource, stats)->export_batch(other.view()));
  expect_received_exactly(other, plaintext->received(), resource);
}

TEST_F(OtlpGrpcTls, rejects_a_server_signed_by_an_unknown_ca) {
  const auto receiver = start(kGrpc, false);
  OtlpOptions o = options(kGrpc, receiver->endpoint());
  o.certificate_file = path("other-ca.crt");
  ExportStats stats;
  auto exporter = create_otlp_exporter(o, build_resource({}), stats);
  SpanBatch batch = make_spans(2);
  EXPECT_NE(ExportResult::kSuccess, exporter->export_batch(batch.view()));
  EXPECT_EQ(1u, stats.export_failures);
  EXPECT_EQ(0, receiver->received().requests);
}

}  // namespace
}  // namespace bto::testing
