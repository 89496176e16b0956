#include "export/otlp_exporter.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>

#include "common/log.h"
#include "export/grpc_transport.h"
#include "export/otlp_encoder.h"
#include "export/otlp_grpc_exporter.h"
#include "export/otlp_send_transport.h"
#include "export/retrying_sender.h"

namespace bto {

std::string redact_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const size_t authority_end = url.find_first_of("/?#", authority_start);
  std::string_view authority = url.substr(authority_start, authority_end - authority_start);
  const size_t at = authority.rfind('@');
  std::string out(url.substr(0, authority_start));
  out += at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (authority_end != std::string_view::npos) {
    std::string_view rest = url.substr(authority_end);
    const size_t query = rest.find_first_of("?#");
    out += rest.substr(0, query);
    if (query != std::string_view::npos) out += "?...";
  }
  return out;
}

namespace {

std::unique_ptr<SendTransport> create_send_transport(const OtlpOptions& options, RequestEncoding encoding) {
  if (options.protocol == OtlpProtocol::kGrpc) {
    return create_otlp_grpc_send_transport(options, kOtlpTraceExportMethod);
  }
  return create_otlp_http_send_transport(
      options, encoding == RequestEncoding::kJson ? "application/json" : "application/x-protobuf");
}

SenderOptions sender_options(const OtlpOptions& options, ExportStats& stats) {
  SenderOptions sender;
  sender.retry = options.retry;
  sender.timeout = options.timeout;
  sender.log_prefix = "OTLP";
  sender.items = "spans";
  if (options.failures_spooled) sender.given_up = "kept in the spool for a later retry";
  // Per-batch span counts are the BatchProcessor's, from the returned ExportResult.
  sender.counters.requests = &stats.export_requests;
  sender.counters.retries = &stats.export_retries;
  sender.counters.failures = &stats.export_failures;
  sender.counters.items_rejected = &stats.dropped_partial_success;
  sender.counters.latency_us_total = &stats.export_latency_us_total;
  sender.counters.last_success_unix_ms = &stats.last_export_success_unix_ms;
  sender.counters.last_failure_unix_ms = &stats.last_export_failure_unix_ms;
  return sender;
}

RequestEncoding encoding_of(OtlpProtocol protocol) noexcept {
  return protocol == OtlpProtocol::kHttpJson ? RequestEncoding::kJson : RequestEncoding::kProtobuf;
}

// OTLP/HTTP (protobuf or JSON) and OTLP/gRPC alike: encode the batch, hand the
// bytes to the retrying sender. The transport is all that differs.
class OtlpExporter final : public SpanExporter, public RequestExporter {
 public:
  OtlpExporter(const OtlpOptions& options, const ResourceInfo& resource, ExportStats& stats)
      : encoding_(encoding_of(options.protocol)), grpc_(options.protocol == OtlpProtocol::kGrpc),
        max_elapsed_(options.retry.max_elapsed), resource_(resource), stats_(stats) {
    sender(encoding_) = create_retrying_sender(create_send_transport(options, encoding_), sender_options(options, stats));
    if (options.failures_spooled && !grpc_) {
      // A spool written with the other OTLP/HTTP encoding (an earlier run with
      // another --protocol) is sent as it is, with its own Content-Type.
      const RequestEncoding other = encoding_ == RequestEncoding::kJson ? RequestEncoding::kProtobuf
                                                                        : RequestEncoding::kJson;
      sender(other) = create_retrying_sender(create_send_transport(options, other), sender_options(options, stats));
    }
    if (options.insecure_skip_verify) {
      static std::once_flag warned;
      std::call_once(warned, [&] {
        spdlog::warn("OTLP: TLS certificate verification is DISABLED for {} (insecure_skip_verify); "
                     "anyone on the path can read and alter the exported spans",
                     sender(encoding_)->where());
      });
    }
  }

  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    if (spans.empty()) return ExportResult::kSuccess;
    if (sender(encoding_)->aborted()) return ExportResult::kRetryable;
    if (!encode(spans, body_)) {
      ++stats_.export_failures;
      return ExportResult::kPermanent;
    }
    return send(body_, encoding_, spans.size(), 0);
  }

  bool force_flush(std::chrono::milliseconds) noexcept override {
    return true;  // nothing is buffered here: export_batch is synchronous
  }

  void shutdown(std::chrono::milliseconds) noexcept override {
    for (auto& each : senders_) {
      if (each) each->abort();
    }
  }

  RequestExporter* requests() noexcept override { return this; }

  RequestEncoding encoding() const noexcept override { return encoding_; }

  bool encode(std::span<const SpanRecord* const> spans, std::string& out) const noexcept override {
    try {
      // gzip, if asked, is the transport's: HTTP Content-Encoding or gRPC message compression.
      if (encoding_ == RequestEncoding::kJson) {
        encode_otlp_json(resource_, spans, out);
      } else {
        encode_otlp_protobuf(resource_, spans, out);
      }
      return true;
    } catch (const std::exception& e) {  // only std::bad_alloc can get here
      error_log_.error("OTLP: encoding {} spans failed ({}); batch dropped", spans.size(), e.what());
      return false;
    }
  }

  bool can_send(RequestEncoding encoding) const noexcept override {
    const size_t index = static_cast<size_t>(encoding);
    return index < senders_.size() && senders_[index] != nullptr;
  }

  ExportResult send(std::string_view request, RequestEncoding encoding, size_t spans,
                    int max_attempts) noexcept override {
    if (!can_send(encoding)) return ExportResult::kPermanent;
    RetryingSender& chosen = *sender(encoding);
    if (chosen.aborted()) return ExportResult::kRetryable;
    return chosen.send(request, spans, std::chrono::steady_clock::now() + max_elapsed_, max_attempts);
  }

 private:
  std::unique_ptr<RetryingSender>& sender(RequestEncoding encoding) noexcept {
    return senders_[static_cast<size_t>(encoding)];
  }
  const std::unique_ptr<RetryingSender>& sender(RequestEncoding encoding) const noexcept {
    return senders_[static_cast<size_t>(encoding)];
  }

  const RequestEncoding encoding_;
  const bool grpc_;
  const std::chrono::milliseconds max_elapsed_;
  const ResourceInfo resource_;
  ExportStats& stats_;
  // Indexed by RequestEncoding (1 protobuf, 2 JSON); null where not sendable.
  std::array<std::unique_ptr<RetryingSender>, 3> senders_;
  std::string body_;  // reused: encoding allocates nothing once grown
  mutable RateLimitedLog error_log_;
};

bool is_token_char(char c) noexcept {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::unique_ptr<SpanExporter> create_otlp_exporter(const OtlpOptions& options,
                                                   const ResourceInfo& resource, ExportStats& stats) {
  return std::make_unique<OtlpExporter>(options, resource, stats);
}

std::string validate_otlp_options(const OtlpOptions& options) {
  if (options.protocol == OtlpProtocol::kGrpc) {
    if (std::string problem = validate_otlp_grpc_options(options); !problem.empty()) return problem;
  } else if (const std::string_view url = options.endpoint;
             !url.starts_with("http://") && !url.starts_with("https://")) {
    return fmt::format("OTLP endpoint {} must start with http:// or https://", quote_bytes(redact_url(url)));
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"certificate", &options.certificate_file},
      {"client key", &options.client_key_file},
      {"client certificate", &options.client_certificate_file},
  };
  for (const auto& [what, path] : files) {
    if (!path->empty() && access(path->c_str(), R_OK) != 0) {
      return fmt::format("OTLP {} file {} is not readable", what, quote_bytes(*path, 200));
    }
  }
  if (options.client_key_file.empty() != options.client_certificate_file.empty()) {
    return "OTLP mTLS needs both a client key and a client certificate";
  }
  if (options.timeout.count() <= 0) return "OTLP timeout must be positive";
  return {};
}

std::string otlp_traces_url_from_base(std::string_view base) {
  std::string url(base);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/v1/traces";
}

KeyValueParse parse_otlp_headers(std::string_view text) {
  KeyValueParse result = parse_resource_attributes(text);
  if (!result.ok()) return result;
  for (size_t i = 0; i < result.pairs.size(); ++i) {
    const auto& [name, value] = result.pairs[i];
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
      result.error = fmt::format("header {} has an invalid name {}", i + 1, quote_bytes(name, 64));
      break;
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      result.error = fmt::format("header {} ({}) has a value with CR, LF or NUL", i + 1, name);
      break;
    }
  }
  if (!result.ok()) result.pairs.clear();
  return result;
}

const char* to_string(RequestEncoding encoding) noexcept {
  return encoding == RequestEncoding::kJson ? "json" : "protobuf";
}

const char* to_string(OtlpProtocol protocol) noexcept {
  switch (protocol) {
    case OtlpProtocol::kHttpJson: return "http/json";
    case OtlpProtocol::kGrpc: return "grpc";
    case OtlpProtocol::kHttpProtobuf: break;
  }
  return "http/protobuf";
}

const char* to_string(OtlpCompression compression) noexcept {
  return compression == OtlpCompression::kGzip ? "gzip" : "none";
}

}  // namespace bto
