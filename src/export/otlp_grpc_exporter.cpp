#include "export/otlp_grpc_exporter.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <random>

#include "common/log.h"
#include "common/version.h"
#include "export/grpc_transport.h"
#include "export/otlp_encoder.h"
#include "export/otlp_response.h"

namespace bto {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// grpc::StatusCode values, without pulling grpc++ headers in here.
enum GrpcCode : int {
  kOk = 0,
  kCancelled = 1,
  kDeadlineExceeded = 4,
  kResourceExhausted = 8,
  kAborted = 10,
  kOutOfRange = 11,
  kUnavailable = 14,
  kDataLoss = 15,
};

// For log lines: scheme and authority without userinfo; no path or query.
std::string endpoint_for_logs(std::string_view endpoint) {
  const size_t scheme_end = endpoint.find("://");
  const size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  std::string_view authority = endpoint.substr(start, endpoint.find_first_of("/?#", start) - start);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(endpoint.substr(0, start)) + std::string(authority) + " (gRPC)";
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

GrpcTransportOptions transport_options(const OtlpOptions& options) {
  GrpcTransportOptions grpc;
  grpc.endpoint = options.endpoint;
  grpc.method = kOtlpTraceExportMethod;
  for (const auto& [key, value] : options.headers) grpc.metadata.emplace_back(lowercase(key), value);
  grpc.gzip = options.compression == OtlpCompression::kGzip;
  grpc.insecure = options.insecure;
  grpc.ca_file = options.certificate_file;
  grpc.client_cert_file = options.client_certificate_file;
  grpc.client_key_file = options.client_key_file;
  grpc.insecure_skip_verify = options.insecure_skip_verify;
  grpc.user_agent = std::string("OTel-OTLP-Exporter-bpftrace-otel/") + kVersion;
  grpc.reconnect_backoff = std::max(options.retry.initial_backoff, milliseconds(100));
  grpc.connect_timeout = options.timeout;
  return grpc;
}

class OtlpGrpcExporter final : public SpanExporter {
 public:
  OtlpGrpcExporter(const OtlpOptions& options, const ResourceInfo& resource, ExportStats& stats)
      : options_(options), resource_(resource), stats_(stats), endpoint_for_logs_(endpoint_for_logs(options.endpoint)),
        transport_(create_grpc_transport(transport_options(options))), random_(std::random_device{}()) {
    if (options.insecure_skip_verify) {
      static std::once_flag warned;
      std::call_once(warned, [&] {
        spdlog::warn("OTLP: TLS certificate verification is DISABLED for {} (insecure_skip_verify); "
                     "anyone on the path can read and alter the exported spans",
                     endpoint_for_logs_);
      });
    }
  }

  ExportResult export_batch(std::span<const SpanRecord* const> spans) noexcept override {
    if (spans.empty()) return ExportResult::kSuccess;
    if (shutdown_.load(std::memory_order_acquire)) return ExportResult::kRetryable;
    const auto deadline = Clock::now() + options_.retry.max_elapsed;
    try {
      encode_otlp_protobuf(resource_, spans, body_);  // gzip, if asked, is gRPC's message compression
    } catch (const std::exception& e) {  // only std::bad_alloc can get here
      error_log_.error("OTLP: encoding {} spans failed ({}); batch dropped", spans.size(), e.what());
      ++stats_.export_failures;
      return ExportResult::kPermanent;
    }

    const int max_attempts = std::max(options_.retry.max_attempts, 1);
    for (int attempt = 1;; ++attempt) {
      const auto now = Clock::now();
      const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - now);
      if (remaining.count() <= 0) return give_up(spans.size(), "export deadline reached");
      const GrpcResponse& response = transport_->call(body_, std::min(options_.timeout, remaining));
      const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - now);
      ++stats_.export_requests;
      stats_.export_latency_us_total += static_cast<uint64_t>(latency.count());

      const std::optional<milliseconds> server_wait =
          response.code == kOk ? std::nullopt : grpc_retry_delay(response.details);
      const ExportResult result = classify_grpc_status(response.code, server_wait.has_value());
      if (!response.aborted) {  // [telemetry] for /readyz
        const auto unix_ms =
            std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        (result == ExportResult::kSuccess ? stats_.last_export_success_unix_ms
                                          : stats_.last_export_failure_unix_ms)
            .store(unix_ms, std::memory_order_relaxed);
      }
      if (result == ExportResult::kSuccess) {
        handle_partial_success(response, spans.size());
        return ExportResult::kSuccess;
      }
      if (response.aborted) {
        ++stats_.export_failures;
        spdlog::warn("OTLP: export of {} spans to {} interrupted by shutdown", spans.size(), endpoint_for_logs_);
        return ExportResult::kRetryable;
      }
      const std::string why = describe(response);
      if (result == ExportResult::kPermanent) {
        ++stats_.export_failures;
        error_log_.error("OTLP: export to {} failed permanently ({}); {} spans dropped, not retried",
                         endpoint_for_logs_, why, spans.size());
        return ExportResult::kPermanent;
      }
      if (attempt >= max_attempts) {
        return give_up(spans.size(), fmt::format("{} attempts failed, last: {}", attempt, why));
      }
      const milliseconds wait = server_wait ? *server_wait : backoff_delay(options_.retry, attempt - 1, random_());
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (wait >= left) {
        // Sleeping past the deadline only to give up then would stall the worker.
        return give_up(spans.size(), fmt::format("{}; next retry in {} ms is past the export deadline", why,
                                                 wait.count()));
      }
      ++stats_.export_retries;
      retry_log_.warn("OTLP: export to {} failed ({}); retry {} of {} in {} ms", endpoint_for_logs_, why, attempt,
                      max_attempts - 1, wait.count());
      if (!sleep_for(wait)) {
        ++stats_.export_failures;
        spdlog::warn("OTLP: export of {} spans to {} interrupted by shutdown", spans.size(), endpoint_for_logs_);
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
    error_log_.error("OTLP: export to {} failed ({}); {} spans dropped", endpoint_for_logs_, why, span_count);
    return ExportResult::kRetryable;
  }

  // False when shutdown() interrupted the wait.
  bool sleep_for(milliseconds wait) noexcept {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, wait, [this] { return shutdown_.load(std::memory_order_acquire); });
  }

  static std::string describe(const GrpcResponse& response) {
    std::string text = fmt::format("gRPC {} ({})", grpc_code_name(response.code), response.code);
    if (!response.message.empty()) text += ": " + quote_bytes(response.message, 256);
    return text;
  }

  void handle_partial_success(const GrpcResponse& response, size_t span_count) noexcept {
    if (response.body.empty()) return;
    PartialSuccess partial;
    if (!parse_partial_success_protobuf(response.body, partial)) {
      partial_log_.warn("OTLP: unparsable success response from {} ({} bytes)", endpoint_for_logs_,
                        response.body.size());
      return;
    }
    if (!partial.present()) return;
    if (partial.rejected_spans > 0) {
      stats_.dropped_partial_success += static_cast<uint64_t>(partial.rejected_spans);
      partial_log_.warn("OTLP: collector rejected {} of {} spans: \"{}\"", partial.rejected_spans, span_count,
                        quote_bytes(partial.error_message, 256));
    } else {
      partial_log_.warn("OTLP: collector accepted all {} spans with a warning: \"{}\"", span_count,
                        quote_bytes(partial.error_message, 256));
    }
  }

  const OtlpOptions options_;
  const ResourceInfo resource_;
  ExportStats& stats_;
  const std::string endpoint_for_logs_;
  std::unique_ptr<GrpcTransport> transport_;
  std::mt19937_64 random_;
  std::string body_;  // reused: encoding allocates nothing once grown
  std::atomic<bool> shutdown_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  RateLimitedLog retry_log_;
  RateLimitedLog error_log_;
  RateLimitedLog partial_log_;
};

}  // namespace

std::unique_ptr<SpanExporter> create_otlp_grpc_exporter(const OtlpOptions& options, const ResourceInfo& resource,
                                                        ExportStats& stats) {
  return std::make_unique<OtlpGrpcExporter>(options, resource, stats);
}

std::string validate_otlp_grpc_options(const OtlpOptions& options) {
  if (!grpc_target_from_endpoint(options.endpoint, options.insecure)) {
    return fmt::format("OTLP/gRPC endpoint {} must be http://host:port, https://host:port or host:port",
                       quote_bytes(endpoint_for_logs(options.endpoint)));
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
  for (size_t i = 0; i < options.headers.size(); ++i) {
    const auto& [key, value] = options.headers[i];
    if (const std::string problem = check_grpc_metadata(key, value); !problem.empty()) {
      return fmt::format("OTLP header {} ({}) cannot be sent as gRPC metadata: {}", i + 1, quote_bytes(key, 64),
                         problem);
    }
  }
  if (options.timeout.count() <= 0) return "OTLP timeout must be positive";
  return {};
}

ExportResult classify_grpc_status(int code, bool has_retry_info) noexcept {
  switch (code) {
    case kOk:
      return ExportResult::kSuccess;
    case kCancelled:
    case kDeadlineExceeded:
    case kAborted:
    case kOutOfRange:
    case kUnavailable:
    case kDataLoss:
      return ExportResult::kRetryable;
    case kResourceExhausted:
      return has_retry_info ? ExportResult::kRetryable : ExportResult::kPermanent;
    default:
      return ExportResult::kPermanent;
  }
}

}  // namespace bto
