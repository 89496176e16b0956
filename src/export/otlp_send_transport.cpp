#include "export/otlp_send_transport.h"

#include <algorithm>
#include <cctype>

#include "common/log.h"
#include "common/version.h"
#include "export/grpc_transport.h"
#include "export/http_transport.h"
#include "export/otlp_grpc_exporter.h"
#include "export/otlp_response.h"

namespace bto {
namespace {

using std::chrono::milliseconds;

std::string user_agent() { return std::string("OTel-OTLP-Exporter-bpftrace-otel/") + kVersion; }

// An accepted request: partial_success, if the collector sent one.
SendResult accepted(std::string_view body, bool json) {
  SendResult result;
  if (body.empty()) return result;
  PartialSuccess partial;
  if (!(json ? parse_partial_success_json(body, partial) : parse_partial_success_protobuf(body, partial))) {
    result.kind = SendResult::Kind::kUnreadable;
    result.message = fmt::format("{} bytes", body.size());
    return result;
  }
  if (!partial.present()) return result;
  result.kind = SendResult::Kind::kPartial;
  result.rejected = partial.rejected_spans;  // rejected_data_points for metrics: same field
  result.message = std::move(partial.error_message);
  return result;
}

class HttpSendTransport final : public SendTransport {
 public:
  HttpSendTransport(const OtlpOptions& options, std::string content_type)
      : where_(redact_url(options.endpoint)),
        json_request_(content_type.find("json") != std::string::npos),
        gzip_enabled_(options.compression == OtlpCompression::kGzip) {
    HttpTransportOptions http;
    http.url = options.endpoint;
    http.content_type = std::move(content_type);
    if (gzip_enabled_) http.content_encoding = "gzip";
    http.headers = options.headers;
    http.ca_file = options.certificate_file;
    http.client_cert_file = options.client_certificate_file;
    http.client_key_file = options.client_key_file;
    http.insecure_skip_verify = options.insecure_skip_verify;
    http.user_agent = user_agent();
    transport_ = create_http_transport(http);
  }

  const char* prepare(std::string_view request, std::string_view& payload) noexcept override {
    payload = request;
    if (!gzip_enabled_) return nullptr;
    if (!gzip_.compress(request, compressed_)) return "gzip compression failed";
    payload = compressed_;
    return nullptr;
  }

  SendResult send(std::string_view payload, milliseconds timeout) noexcept override {
    const HttpResponse& response = transport_->post(payload, timeout);
    SendResult result;
    if (response.outcome.error == TransportError::kAborted) {
      result.kind = SendResult::Kind::kAborted;
      return result;
    }
    switch (classify_outcome(response.outcome)) {
      case ExportResult::kSuccess:
        result = accepted(response.body, json_request_ || response.content_type.find("json") != std::string::npos);
        if (result.kind == SendResult::Kind::kUnreadable) {
          result.message += ", " + quote_bytes(response.content_type, 64);
        }
        return result;
      case ExportResult::kRetryable:
        result.kind = SendResult::Kind::kRetryable;
        if (!response.retry_after.empty()) {
          result.retry_delay = parse_retry_after(response.retry_after, std::chrono::system_clock::now());
        }
        break;
      case ExportResult::kPermanent:
      case ExportResult::kOutputFailed:  // not a transport outcome
        result.kind = SendResult::Kind::kPermanent;
        break;
    }
    result.message = describe(response);
    return result;
  }

  void abort() noexcept override { transport_->abort(); }
  const std::string& where() const noexcept override { return where_; }

 private:
  static std::string describe(const HttpResponse& response) {
    if (response.outcome.error != TransportError::kNone) {
      return fmt::format("{}: {}", to_string(response.outcome.error), quote_bytes(response.error, 200));
    }
    std::string text = fmt::format("HTTP {}", response.outcome.http_status);
    const std::string message = error_message_from_body(response.body, response.content_type);
    if (!message.empty()) text += ": " + message;
    return text;
  }

  const std::string where_;
  const bool json_request_;
  const bool gzip_enabled_;
  std::unique_ptr<HttpTransport> transport_;
  std::string compressed_;  // reused
  GzipCompressor gzip_{kOtlpGzipLevel};
};

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

GrpcTransportOptions grpc_transport_options(const OtlpOptions& options, const char* method) {
  GrpcTransportOptions grpc;
  grpc.endpoint = options.endpoint;
  grpc.method = method;
  for (const auto& [key, value] : options.headers) grpc.metadata.emplace_back(lowercase(key), value);
  grpc.gzip = options.compression == OtlpCompression::kGzip;  // gRPC message compression
  grpc.insecure = options.insecure;
  grpc.ca_file = options.certificate_file;
  grpc.client_cert_file = options.client_certificate_file;
  grpc.client_key_file = options.client_key_file;
  grpc.insecure_skip_verify = options.insecure_skip_verify;
  grpc.user_agent = user_agent();
  grpc.reconnect_backoff = std::max(options.retry.initial_backoff, milliseconds(100));
  grpc.connect_timeout = options.timeout;
  return grpc;
}

class GrpcSendTransport final : public SendTransport {
 public:
  GrpcSendTransport(const OtlpOptions& options, const char* method)
      : where_(grpc_endpoint_for_logs(options.endpoint)),
        transport_(create_grpc_transport(grpc_transport_options(options, method))) {}

  SendResult send(std::string_view payload, milliseconds timeout) noexcept override {
    const GrpcResponse& response = transport_->call(payload, timeout);
    SendResult result;
    if (response.aborted) {
      result.kind = SendResult::Kind::kAborted;
      return result;
    }
    const std::optional<milliseconds> server_wait =
        response.code == 0 ? std::nullopt : grpc_retry_delay(response.details);
    switch (classify_grpc_status(response.code, server_wait.has_value())) {
      case ExportResult::kSuccess:
        return accepted(response.body, false);
      case ExportResult::kRetryable:
        result.kind = SendResult::Kind::kRetryable;
        result.retry_delay = server_wait;
        break;
      case ExportResult::kPermanent:
      case ExportResult::kOutputFailed:  // not a transport outcome
        result.kind = SendResult::Kind::kPermanent;
        break;
    }
    result.message = fmt::format("gRPC {} ({})", grpc_code_name(response.code), response.code);
    if (!response.message.empty()) result.message += ": " + quote_bytes(response.message, 256);
    return result;
  }

  void abort() noexcept override { transport_->abort(); }
  const std::string& where() const noexcept override { return where_; }

 private:
  const std::string where_;
  std::unique_ptr<GrpcTransport> transport_;
};

}  // namespace

std::unique_ptr<SendTransport> create_otlp_http_send_transport(const OtlpOptions& options,
                                                               std::string content_type) {
  return std::make_unique<HttpSendTransport>(options, std::move(content_type));
}

std::unique_ptr<SendTransport> create_otlp_grpc_send_transport(const OtlpOptions& options, const char* method) {
  return std::make_unique<GrpcSendTransport>(options, method);
}

std::string grpc_endpoint_for_logs(std::string_view endpoint) {
  const size_t scheme_end = endpoint.find("://");
  const size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  std::string_view authority = endpoint.substr(start, endpoint.find_first_of("/?#", start) - start);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(endpoint.substr(0, start)) + std::string(authority) + " (gRPC)";
}

}  // namespace bto
