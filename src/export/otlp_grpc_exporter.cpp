#include "export/otlp_grpc_exporter.h"

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
  for (size_t i = 0; i < options.headers.size(); ++i) {
    const auto& [key, value] = options.headers[i];
    if (const std::string problem = check_grpc_metadata(key, value); !problem.empty()) {
      return fmt::format("OTLP header {} ({}) cannot be sent as gRPC metadata: {}", i + 1, quote_bytes(key, 64),
                         problem);
    }
  }
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
