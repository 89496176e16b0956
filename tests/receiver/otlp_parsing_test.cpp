// Pure parsing and policy functions: headers, resource attributes, endpoint
// URLs, Retry-After, status classification, backoff, collector responses.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "common/version.h"
#include "export/otlp_exporter.h"
#include "export/otlp_response.h"
#include "export/resource.h"
#include "export/retry_policy.h"

namespace bto {
namespace {

using namespace std::chrono_literals;
using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(OtlpHeaders, parses_trimmed_percent_decoded_pairs) {
  const KeyValueParse p = parse_otlp_headers(" api-key = abc%3D%3D , x-tenant=a%20b%2Cc,,Authorization=Bearer%20t");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ((Pairs{{"api-key", "abc=="}, {"x-tenant", "a b,c"}, {"Authorization", "Bearer t"}}), p.pairs);
}

TEST(OtlpHeaders, value_may_contain_equals_and_be_empty) {
  const KeyValueParse p = parse_otlp_headers("a=b=c,d=");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ((Pairs{{"a", "b=c"}, {"d", ""}}), p.pairs);
}

TEST(OtlpHeaders, rejects_malformed_input_without_quoting_values) {
  for (const char* bad : {"novalue", "=v", "k=%zz", "k=%4", "bad name=v", "k=a%0Db", "k=a%0Ab", "k=%00"}) {
    const KeyValueParse p = parse_otlp_headers(std::string("ok=secret-value,") + bad);
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_TRUE(p.pairs.empty()) << bad;
    EXPECT_EQ(std::string::npos, p.error.find("secret-value")) << p.error;
  }
  EXPECT_TRUE(parse_otlp_headers("").ok());
}

TEST(ResourceAttributes, parses_otel_resource_attributes) {
  const KeyValueParse p = parse_resource_attributes("service.name=api,deployment.environment=prod%2Feu, k = v w ");
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ((Pairs{{"service.name", "api"}, {"deployment.environment", "prod/eu"}, {"k", "v w"}}), p.pairs);
  EXPECT_FALSE(parse_resource_attributes("a=1,b").ok());
}

const Attribute* find(const ResourceInfo& info, std::string_view key) { return info.attributes.find(key); }

TEST(Resource, describes_us_and_the_host) {
  ResourceOptions o;
  o.service_name = "svc";
  o.host_name = "box";
  const ResourceInfo info = build_resource(o);
  EXPECT_EQ("svc", find(info, "service.name")->string_value);
  EXPECT_EQ("box", find(info, "host.name")->string_value);
  EXPECT_EQ("bpftrace-otel", find(info, "telemetry.sdk.name")->string_value);
  EXPECT_EQ("cpp", find(info, "telemetry.sdk.language")->string_value);
  EXPECT_EQ(kVersion, find(info, "telemetry.sdk.version")->string_value);
  EXPECT_EQ("bpftrace", find(info, "exporter.type")->string_value);
  EXPECT_EQ(nullptr, find(info, "instrumentation.type"));
  EXPECT_EQ(nullptr, find(info, "process.pid"));
  EXPECT_EQ("bpftrace-exporter", info.scope_name);
  EXPECT_EQ(kVersion, info.scope_version);
}

TEST(Resource, service_name_precedence) {
  ResourceOptions o;
  o.resource_attributes = "service.name=from-attrs,team=x";
  EXPECT_EQ("from-attrs", find(build_resource(o), "service.name")->string_value);
  o.service_name = "explicit";
  const ResourceInfo info = build_resource(o);
  EXPECT_EQ("explicit", find(info, "service.name")->string_value);
  EXPECT_EQ("x", find(info, "team")->string_value);
  EXPECT_EQ("unknown_service", find(build_resource({}), "service.name")->string_value);
}

TEST(Resource, malformed_attributes_are_discarded_whole) {
  ResourceOptions o;
  o.resource_attributes = "a=1,broken";
  const ResourceInfo info = build_resource(o);
  EXPECT_EQ(nullptr, find(info, "a"));
  EXPECT_EQ("unknown_service", find(info, "service.name")->string_value);
}

TEST(Resource, native_usdt_mode_and_tracer_name) {
  ResourceOptions o;
  o.exporter_mode = "native-usdt";
  o.tracer_name = "my-tracer";
  const ResourceInfo info = build_resource(o);
  EXPECT_EQ("native-usdt", find(info, "instrumentation.type")->string_value);
  EXPECT_EQ("my-tracer", info.scope_name);
}

// docs/compatibility.md: which bpftrace produced the spans.
TEST(Resource, bpftrace_version_when_known) {
  ResourceOptions o;
  EXPECT_EQ(nullptr, find(build_resource(o), "bpftrace.version"));  // replay, or unknown
  o.bpftrace_version = "0.27.1";
  EXPECT_EQ("0.27.1", find(build_resource(o), "bpftrace.version")->string_value);
  o.resource_attributes = "bpftrace.version=mine";  // the user's word wins, as for every detected attribute
  EXPECT_EQ("mine", find(build_resource(o), "bpftrace.version")->string_value);
}

// The process attributes moved to the resource stage (tests/resource/).
TEST(Resource, names_the_host_and_os) {
  ResourceOptions o;
  o.machine_id_path = ::testing::TempDir() + "bto-machine-id-" + std::to_string(getpid());
  EXPECT_EQ(nullptr, find(build_resource(o), "host.id"));  // no such file: no host.id
  std::FILE* file = std::fopen(o.machine_id_path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("4c4c4544004a3510804bb4c04f4a4e32\n", file);
  std::fclose(file);
  const ResourceInfo info = build_resource(o);
  std::remove(o.machine_id_path.c_str());
  EXPECT_EQ("4c4c4544004a3510804bb4c04f4a4e32", find(info, "host.id")->string_value);
  EXPECT_EQ("linux", find(info, "os.type")->string_value);
  ASSERT_NE(nullptr, find(info, "host.arch"));
  EXPECT_FALSE(find(info, "host.arch")->string_value.empty());
  EXPECT_EQ(nullptr, find(info, "process.pid"));
}

TEST(Resource, configured_service_name_is_empty_unless_configured) {
  ResourceOptions o;
  EXPECT_EQ("", configured_service_name(o));
  o.resource_attributes = "team=x,service.name=from-attrs";
  EXPECT_EQ("from-attrs", configured_service_name(o));
  o.service_name = "explicit";
  EXPECT_EQ("explicit", configured_service_name(o));
}

TEST(OtlpEndpoint, appends_v1_traces_to_a_base_url) {
  EXPECT_EQ("http://h:4318/v1/traces", otlp_traces_url_from_base("http://h:4318"));
  EXPECT_EQ("http://h:4318/v1/traces", otlp_traces_url_from_base("http://h:4318/"));
  EXPECT_EQ("https://h/base/v1/traces", otlp_traces_url_from_base("https://h/base/"));
  EXPECT_EQ("https://h/base/v1/traces", otlp_traces_url_from_base("https://h/base"));
}

TEST(RetryPolicy, classifies_per_the_otlp_spec) {
  auto http = [](long status) { return classify_outcome({TransportError::kNone, status}); };
  for (long ok : {200L, 202L, 204L}) EXPECT_EQ(ExportResult::kSuccess, http(ok)) << ok;
  for (long retry : {429L, 502L, 503L, 504L}) EXPECT_EQ(ExportResult::kRetryable, http(retry)) << retry;
  for (long permanent : {301L, 400L, 401L, 403L, 404L, 408L, 413L, 415L, 500L, 501L, 505L}) {
    EXPECT_EQ(ExportResult::kPermanent, http(permanent)) << permanent;
  }
  for (auto e : {TransportError::kConnect, TransportError::kTimeout, TransportError::kSendRecv,
                 TransportError::kAborted}) {
    EXPECT_EQ(ExportResult::kRetryable, classify_outcome({e, 0})) << to_string(e);
  }
  for (auto e : {TransportError::kTls, TransportError::kConfig}) {
    EXPECT_EQ(ExportResult::kPermanent, classify_outcome({e, 0})) << to_string(e);
  }
}

TEST(RetryAfter, parses_delta_seconds_and_http_dates) {
  // Sun, 06 Nov 1994 08:49:37 GMT
  const auto now = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(2000ms, parse_retry_after("2", now));
  EXPECT_EQ(0ms, parse_retry_after(" 0 ", now));
  EXPECT_EQ(std::chrono::milliseconds(86400000), parse_retry_after("99999999999999999999999", now));
  EXPECT_EQ(10000ms, parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now));
  EXPECT_EQ(60000ms, parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now));
  EXPECT_EQ(3000ms, parse_retry_after("Sun Nov  6 08:49:40 1994", now));
  EXPECT_EQ(0ms, parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now));  // past
  for (const char* bad : {"", "-1", "1.5", "soon", "2 s", "Sun, 06 Nov 1994", "\xff\xfe:"}) {
    EXPECT_FALSE(parse_retry_after(bad, now).has_value()) << bad;
  }
}

TEST(RetryAfter, survives_arbitrary_bytes) {
  std::mt19937 random(42);
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 2000; ++i) {
    std::string value(random() % 80, '\0');
    for (char& c : value) c = static_cast<char>(random() % 256);
    const auto wait = parse_retry_after(value, now);
    if (wait) {
      EXPECT_GE(wait->count(), 0);
      EXPECT_LE(wait->count(), 86400000);
    }
  }
}

TEST(Backoff, full_jitter_within_an_exponential_cap) {
  RetryOptions o;  // 1 s initial, x1.5, 5 s max
  EXPECT_EQ(0ms, backoff_delay(o, 0, 0));
  EXPECT_EQ(1000ms, backoff_delay(o, 0, UINT64_MAX));
  EXPECT_EQ(1500ms, backoff_delay(o, 1, UINT64_MAX));
  EXPECT_EQ(2250ms, backoff_delay(o, 2, UINT64_MAX));
  EXPECT_EQ(5000ms, backoff_delay(o, 10, UINT64_MAX));
  EXPECT_EQ(5000ms, backoff_delay(o, 1000000, UINT64_MAX));
  std::mt19937_64 random(7);
  std::chrono::milliseconds sum{0};
  for (int i = 0; i < 1000; ++i) {
    const auto d = backoff_delay(o, 3, random());
    ASSERT_GE(d.count(), 0);
    ASSERT_LE(d.count(), 3375);
    sum += d;
  }
  EXPECT_NEAR(3375 / 2.0, sum.count() / 1000.0, 200);  // uniform: mean is half the cap
}

TEST(CollectorResponse, reads_protobuf_partial_success) {
  // partial_success { rejected_spans: 3, error_message: "old" }
  const std::string body("\x0a\x07\x08\x03\x12\x03old", 9);
  PartialSuccess p;
  ASSERT_TRUE(parse_partial_success_protobuf(body, p));
  EXPECT_EQ(3, p.rejected_spans);
  EXPECT_EQ("old", p.error_message);
  ASSERT_TRUE(parse_partial_success_protobuf("", p));
  EXPECT_FALSE(p.present());
  EXPECT_FALSE(parse_partial_success_protobuf(std::string("\x0a\x09\x08", 3), p));
}

TEST(CollectorResponse, reads_json_partial_success) {
  PartialSuccess p;
  ASSERT_TRUE(parse_partial_success_json(
      R"({"other":[1,{"x":null}],"partialSuccess":{"rejectedSpans":"12","errorMessage":"a \"b\" \u0041"}})", p));
  EXPECT_EQ(12, p.rejected_spans);
  EXPECT_EQ("a \"b\" A", p.error_message);
  ASSERT_TRUE(parse_partial_success_json(R"({"partialSuccess":{"rejectedSpans":5}})", p));
  EXPECT_EQ(5, p.rejected_spans);
  ASSERT_TRUE(parse_partial_success_json("{}", p));
  EXPECT_FALSE(p.present());
  ASSERT_TRUE(parse_partial_success_json("", p));
  EXPECT_FALSE(parse_partial_success_json(R"({"partialSuccess":{"rejectedSpans":)", p));
  EXPECT_FALSE(p.present());
}

TEST(CollectorResponse, error_message_from_status_json_or_text) {
  const std::string status("\x08\x03\x12\x08too big!", 12);  // google.rpc.Status{code 3, message}
  EXPECT_EQ("\"too big!\"", error_message_from_body(status, "application/x-protobuf"));
  EXPECT_EQ("\"nope\"", error_message_from_body(R"({"code":3,"message":"nope"})", "application/json"));
  EXPECT_EQ("\"plain \\x0aline\"", error_message_from_body("plain \nline", "text/plain"));
  EXPECT_EQ("", error_message_from_body("", "text/plain"));
  const std::string huge(10000, 'x');
  EXPECT_LT(error_message_from_body(huge, "text/html").size(), 300u);
}

TEST(CollectorResponse, survives_arbitrary_bytes) {
  std::mt19937 random(1);
  for (int i = 0; i < 3000; ++i) {
    std::string body(random() % 64, '\0');
    for (char& c : body) c = static_cast<char>(random() % 256);
    if (i % 3 == 0 && !body.empty()) body[0] = '{';
    PartialSuccess p;
    parse_partial_success_protobuf(body, p);
    parse_partial_success_json(body, p);
    error_message_from_body(body, "application/x-protobuf");
    error_message_from_body(body, "application/json");
  }
}

}  // namespace
}  // namespace bto
