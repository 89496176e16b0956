#include "export/otlp_exporter.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <random>

#include "common/log.h"
#include "common/version.h"
#include "export/http_transport.h"
#include "export/otlp_encoder.h"
#include "export/otlp_grpc_exporter.h"
#include "export/otlp_response.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

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

class OtlpExporter final : public SpanExporter {
 public:
  OtlpExporter(const OtlpOptions& options, const ResourceInfo& resource, ExportStats& stats)
      : options_(options), resource_(resource), stats_(stats), url_for_logs_(redact_url(options.endpoint)),
        random_(std::random_device{}()) {
    HttpTransportOptions http;
    http.url = options.endpoint;
    http.content_type =
        options.protocol == OtlpProtocol::kHttpJson ? "application/json" : "application/x-protobuf";
    if (options.compression == OtlpCompression::kGzip) http.content_encoding = "gzip";
    http.headers = options.headers;
    http.ca_file = options.certificate_file;
    http.client_cert_file = options.client_certificate_file;
    http.client_key_file = options.client_key_file;
    http.insecure_skip_verify = options.insecure_skip_verify;
    http.user_agent = std::string("OTel-OTLP-Exporter-bpftrace-otel/") + kVersion;
    transport_ = create_http_transport(http);
    if (options.insecure_skip_verify) {
      static std::once_flag warned;
      std::call_once(warned, [&] {
        spdlog::warn("OTLP: TLS certificate verification is DISABLED for {} (insecure_skip_verify); "
                     "anyone on the path can read and alter the exported spans",
                     url_for_logs_);
      });
    }
  }

  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    if (spans.empty()) return ExportResult::kSuccess;
    if (shutdown_.load(std::memory_order_acquire)) return ExportResult::kRetryable;
    const auto deadline = Clock::now() + options_.retry.max_elapsed;

    std::string_view payload;
    try {
      if (options_.protocol == OtlpProtocol::kHttpJson) {
        encode_otlp_json(resource_, spans, body_);
      } else {
        encode_otlp_protobuf(resource_, spans, body_);
      }
      payload = body_;
      if (options_.compression == OtlpCompression::kGzip) {
        if (!gzip_.compress(body_, compressed_)) {
          error_log_.error("OTLP: gzip compression failed; {} spans dropped", spans.size());
          ++stats_.export_failures;
          return ExportResult::kPermanent;
        }
        payload = compressed_;
      }
    } catch (const std::exception& e) {  // only std::bad_alloc can get here
      error_log_.error("OTLP: encoding {} spans failed ({}); batch dropped", spans.size(), e.what());
      ++stats_.export_failures;
      return ExportResult::kPermanent;
    }

    const int max_attempts = std::max(options_.retry.max_attempts, 1);
    for (int attempt = 1;; ++attempt) {
      const auto now = Clock::now();
      const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - now);
      if (remaining.count() <= 0) {
        return give_up(spans.size(), "export deadline reached");
      }
      const HttpResponse& response = transport_->post(payload, std::min(options_.timeout, remaining));
      const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - now);
      ++stats_.export_requests;
      stats_.export_latency_us_total += static_cast<uint64_t>(latency.count());

      const ExportResult result = classify_outcome(response.outcome);
      if (response.outcome.error != TransportError::kAborted) {  // [telemetry] for /readyz
        const auto unix_ms = std::chrono::duration_cast<milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
        (result == ExportResult::kSuccess ? stats_.last_export_success_unix_ms
                                          : stats_.last_export_failure_unix_ms)
            .store(unix_ms, std::memory_order_relaxed);
      }
      if (result == ExportResult::kSuccess) {
        handle_partial_success(response, spans.size());
        return ExportResult::kSuccess;
      }
      if (response.outcome.error == TransportError::kAborted) {
        ++stats_.export_failures;
        spdlog::warn("OTLP: export of {} spans to {} interrupted by shutdown", spans.size(), url_for_logs_);
        return ExportResult::kRetryable;
      }
      const std::string why = describe(response);
      if (result == ExportResult::kPermanent) {
        ++stats_.export_failures;
        error_log_.error("OTLP: export to {} failed permanently ({}); {} spans dropped, not retried",
                         url_for_logs_, why, spans.size());
        return ExportResult::kPermanent;
      }
      if (attempt >= max_attempts) {
        return give_up(spans.size(), fmt::format("{} attempts failed, last: {}", attempt, why));
      }

      milliseconds wait = backoff_delay(options_.retry, attempt - 1, random_());
      if (!response.retry_after.empty()) {
        if (auto server_wait = parse_retry_after(response.retry_after, std::chrono::system_clock::now())) {
          wait = *server_wait;
        }
      }
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (wait >= left) {
        // Sleeping past the deadline only to give up then would stall the worker.
        return give_up(spans.size(), fmt::format("{}; next retry in {} ms is past the export deadline",
                                                 why, wait.count()));
      }
      ++stats_.export_retries;
      retry_log_.warn("OTLP: export to {} failed ({}); retry {} of {} in {} ms", url_for_logs_, why,
                      attempt, max_attempts - 1, wait.count());
      if (!sleep_for(wait)) {
        ++stats_.export_failures;
        spdlog::warn("OTLP: export of {} spans to {} interrupted by shutdown", spans.size(), url_for_logs_);
        return ExportResult::kRetryable;
      }
    }
  }

  bool force_flush(std::chrono::milliseconds) noexcept override {
    return true;  // nothing is buffered here: export_batch is synchronous
  }

  void shutdown(std::chrono::milliseconds) noexcept override {
    {
      std::lock_guard lock(mutex_);
      shutdown_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    transport_->abort();
  }

 private:
  ExportResult give_up(size_t span_count, const std::string& why) noexcept {
    ++stats_.export_failures;
    error_log_.error("OTLP: export to {} failed ({}); {} spans dropped", url_for_logs_, why, span_count);
    return ExportResult::kRetryable;
  }

  // False when shutdown() interrupted the wait.
  bool sleep_for(milliseconds wait) noexcept {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, wait, [this] { return shutdown_.load(std::memory_order_acquire); });
  }

  std::string describe(const HttpResponse& response) const {
    if (response.outcome.error != TransportError::kNone) {
      return fmt::format("{}: {}", to_string(response.outcome.error), quote_bytes(response.error, 200));
    }
    std::string text = fmt::format("HTTP {}", response.outcome.http_status);
    const std::string message = error_message_from_body(response.body, response.content_type);
    if (!message.empty()) text += ": " + message;
    return text;
  }

  void handle_partial_success(const HttpResponse& response, size_t span_count) noexcept {
    if (response.body.empty()) return;
    PartialSuccess partial;
    const bool parsed = options_.protocol == OtlpProtocol::kHttpJson ||
                                response.content_type.find("json") != std::string::npos
                            ? parse_partial_success_json(response.body, partial)
                            : parse_partial_success_protobuf(response.body, partial);
    if (!parsed) {
      partial_log_.warn("OTLP: unparsable success response from {} ({} bytes, {})", url_for_logs_,
                        response.body.size(), quote_bytes(response.content_type, 64));
      return;
    }
    if (!partial.present()) return;
    if (partial.rejected_spans > 0) {
      stats_.dropped_partial_success += static_cast<uint64_t>(partial.rejected_spans);
      partial_log_.warn("OTLP: collector rejected {} of {} spans: \"{}\"", partial.rejected_spans,
                        span_count, quote_bytes(partial.error_message, 256));
    } else {
      partial_log_.warn("OTLP: collector accepted all {} spans with a warning: \"{}\"", span_count,
                        quote_bytes(partial.error_message, 256));
    }
  }

  const OtlpOptions options_;
  const ResourceInfo resource_;
  ExportStats& stats_;
  const std::string url_for_logs_;
  std::unique_ptr<HttpTransport> transport_;
  std::mt19937_64 random_;
  std::string body_;        // reused: encoding allocates nothing once grown
  std::string compressed_;  // reused
  GzipCompressor gzip_{1};  // level 1: ~30% less CPU per event than 6, +11% bytes (docs/performance.md)
  std::atomic<bool> shutdown_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  RateLimitedLog retry_log_;
  RateLimitedLog error_log_;
  RateLimitedLog partial_log_;
};

bool is_token_char(char c) noexcept {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::unique_ptr<SpanExporter> create_otlp_exporter(const OtlpOptions& options,
                                                   const ResourceInfo& resource, ExportStats& stats) {
  if (options.protocol == OtlpProtocol::kGrpc) return create_otlp_grpc_exporter(options, resource, stats);
  return std::make_unique<OtlpExporter>(options, resource, stats);
}

std::string validate_otlp_options(const OtlpOptions& options) {
  if (options.protocol == OtlpProtocol::kGrpc) return validate_otlp_grpc_options(options);
  const std::string_view url = options.endpoint;
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
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
