// OTLP exporter settings: the standard OTEL_EXPORTER_OTLP_* variables, the
// traces-specific variant first, then the generic one, then the seed's.

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "config/settings.h"
#include "config/setting_values.h"
#include "config/value_parsers.h"
#include "export/otlp_grpc_exporter.h"

namespace bto {
namespace {

// OTEL_ENDPOINT (the seed's form): "host:port", scheme optional.
std::string url_from_host_port(const std::string& value) {
  std::string url = value;
  if (url.find("://") == std::string::npos) url.insert(0, "http://");
  return otlp_traces_url_from_base(url);
}

bool has_path(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return path != std::string::npos && path + 1 < url.size();
}

// gRPC addresses a method, not a URL path: every source is used as is (the
// OTLP spec's OTEL_EXPORTER_OTLP_ENDPOINT rule for gRPC), and host:port
// without a scheme is allowed (TLS unless OTEL_EXPORTER_OTLP_INSECURE=true).
void apply_grpc_endpoint(AppOptions& o, const std::string& v, const std::string& src) {
  o.otlp.endpoint = src == "env OTEL_ENDPOINT" && v.find("://") == std::string::npos ? "http://" + v : v;
  o.endpoint_set = true;
}

void apply_endpoint(AppOptions& o, const std::string& v, const std::string& src) {
  if (o.otlp.protocol == OtlpProtocol::kGrpc) {  // the protocol row is applied first
    apply_grpc_endpoint(o, v, src);
    return;
  }
  if (v.find("://") == std::string::npos && src != "env OTEL_ENDPOINT") {
    reject("endpoint", src, v, "a URL such as http://localhost:4318/v1/traces");
  }
  if (src == "env OTEL_EXPORTER_OTLP_ENDPOINT") {
    o.otlp.endpoint = otlp_traces_url_from_base(v);
  } else if (src == "env OTEL_ENDPOINT") {
    o.otlp.endpoint = url_from_host_port(v);
  } else if (src.rfind("flag", 0) == 0 && !has_path(v)) {
    o.otlp.endpoint = otlp_traces_url_from_base(v);  // --endpoint http://collector:4318
  } else {
    o.otlp.endpoint = v;  // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: used as is
  }
  o.endpoint_set = true;
}

}  // namespace

void add_export_settings(std::vector<Setting>& s) {
  const std::string group = "OTLP export";
  // Before "endpoint": the endpoint's default and path rule depend on the protocol.
  s.push_back({"protocol", "--protocol",
               {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"}, group,
               "http/protobuf, http/json or grpc (grpc: default endpoint http://localhost:4317)",
               "PROTOCOL", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "http/protobuf") {
                   o.otlp.protocol = OtlpProtocol::kHttpProtobuf;
                 } else if (v == "http/json") {
                   o.otlp.protocol = OtlpProtocol::kHttpJson;
                 } else if (v == "grpc") {
                   o.otlp.protocol = OtlpProtocol::kGrpc;
                   o.otlp.endpoint = kOtlpGrpcDefaultEndpoint;  // until the endpoint row says otherwise
                 } else {
                   reject("protocol", src, v, "http/protobuf, http/json or grpc");
                 }
               },
               [](const AppOptions& o) { return std::string(to_string(o.otlp.protocol)); }});
  s.push_back({"endpoint", "--endpoint",
               {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_ENDPOINT"},
               group,
               "Collector URL; setting it selects the OTLP exporter. The _TRACES_ variable is used "
               "as is, OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces appended (not for grpc), "
               "OTEL_ENDPOINT is host:port",
               "URL", false, false, apply_endpoint,
               [](const AppOptions& o) { return redact_url(o.otlp.endpoint); }});
  s.push_back({"headers", "--headers",
               {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"}, group,
               "Request headers, k=v,k2=v2 (percent-encoded values); never logged", "HEADERS",
               false, true,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 KeyValueParse parsed = parse_otlp_headers(v);
                 if (!parsed.ok()) {
                   // The value may hold a token: name the problem, never the value.
                   reject_shown("headers", src, "(value hidden)", "k=v pairs: " + parsed.error);
                 }
                 o.otlp.headers = std::move(parsed.pairs);
               },
               [](const AppOptions& o) {
                 std::string names;
                 for (const auto& header : o.otlp.headers) {
                   if (!names.empty()) names.push_back(',');
                   names.append(header.first).append("=").append(kMaskedValue);
                 }
                 return names;
               }});
  s.push_back({"timeout", "--timeout",
               {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"}, group,
               "Timeout of one export request (bare number: milliseconds)", "DURATION", false,
               false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 // OpenTelemetry's declarative configuration reads 0 as "no limit"; one
                 // request that may wait forever would hold an export worker for good.
                 o.otlp.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(duration_or_reject(
                     "timeout", v, src,
                     {std::chrono::milliseconds(1), std::chrono::milliseconds(1), std::chrono::hours(1), nullptr,
                      "a request without a time limit could hold an export worker forever (the batch's "
                      "limit is --export-timeout)"}));
               },
               [](const AppOptions& o) { return show_ms(o.otlp.timeout); }});
  s.push_back({"compression", "--compression",
               {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"}, group,
               "gzip or none", "NAME", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "gzip") {
                   o.otlp.compression = OtlpCompression::kGzip;
                 } else if (v == "none") {
                   o.otlp.compression = OtlpCompression::kNone;
                 } else {
                   reject("compression", src, v, "gzip or none");
                 }
               },
               [](const AppOptions& o) { return std::string(to_string(o.otlp.compression)); }});
  s.push_back({"certificate", "--certificate",
               {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"}, group,
               "CA certificate file (PEM) to verify the collector", "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.otlp.certificate_file = v;
               },
               [](const AppOptions& o) { return o.otlp.certificate_file; }});
  s.push_back({"client_key", "--client-key",
               {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"}, group,
               "Client private key (PEM) for mTLS", "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.otlp.client_key_file = v;
               },
               [](const AppOptions& o) { return o.otlp.client_key_file; }});
  s.push_back({"client_certificate", "--client-certificate",
               {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
               group, "Client certificate (PEM) for mTLS", "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.otlp.client_certificate_file = v;
               },
               [](const AppOptions& o) { return o.otlp.client_certificate_file; }});
  s.push_back({"insecure", "--insecure",
               {"OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"}, group,
               "grpc only: plaintext for an endpoint given as host:port without a scheme "
               "(http:// and https:// decide by themselves)",
               "", true, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.otlp.insecure = bool_or_reject("insecure", v, src);
               },
               [](const AppOptions& o) { return std::string(o.otlp.insecure ? "true" : "false"); }});
  s.push_back({"insecure_skip_verify", "--insecure-skip-verify", {"BTO_INSECURE_SKIP_VERIFY"},
               group,
               "Do not verify the collector's TLS certificate (dangerous; logs a warning)", "",
               true, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.otlp.insecure_skip_verify = bool_or_reject("insecure_skip_verify", v, src);
               },
               [](const AppOptions& o) {
                 return std::string(o.otlp.insecure_skip_verify ? "true" : "false");
               }});
}

}  // namespace bto
