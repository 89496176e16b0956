#include "export/otlp_grpc_exporter.h"

#include <unistd.h>

#include "common/log.h"
#include "export/grpc_transport.h"
#include "export/otlp_send_transport.h"

namespace bto {
namespace {

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

}  // namespace

// The one span exporter (otlp_exporter.cpp) over a gRPC transport
// (otlp_send_transport.cpp), whatever options.protocol says.
std::unique_ptr<SpanExporter> create_otlp_grpc_exporter(const OtlpOptions& options, const ResourceInfo& resource,
                                                        ExportStats& stats) {
  OtlpOptions grpc = options;
  grpc.protocol = OtlpProtocol::kGrpc;
  return create_otlp_exporter(grpc, resource, stats);
}

std::string validate_otlp_grpc_options(const OtlpOptions& options) {
  if (!grpc_target_from_endpoint(options.endpoint, options.insecure)) {
    return fmt::format("OTLP/gRPC endpoint {} must be http://host:port, https://host:port or host:port",
                       quote_bytes(grpc_endpoint_for_logs(options.endpoint)));
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
