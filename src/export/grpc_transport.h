#pragma once
// One persistent gRPC channel (grpc++) per exporter: a unary call of any method
// carrying bytes that are already protobuf-encoded (a generic call, no
// generated stubs), returning the status, its google.rpc.Status details and a
// bounded response. Traces today; the method path is an option so OTLP metrics
// can use the same client. Not thread-safe, except abort().

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bto {

inline constexpr const char* kOtlpTraceExportMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
inline constexpr const char* kOtlpMetricsExportMethod =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

struct GrpcTransportOptions {
  // http://host:port (plaintext), https://host:port (TLS), or host:port (TLS
  // unless `insecure`). Any path is ignored: gRPC addresses the method, not a URL.
  std::string endpoint;
  std::string method = kOtlpTraceExportMethod;
  std::vector<std::pair<std::string, std::string>> metadata;  // lowercase keys; values never logged
  bool gzip = false;
  bool insecure = false;  // OTEL_EXPORTER_OTLP_INSECURE: only for an endpoint without a scheme
  std::string ca_file;    // empty: the system roots
  std::string client_cert_file;  // mTLS
  std::string client_key_file;
  bool insecure_skip_verify = false;
  std::string user_agent;  // prefix; grpc-c++ appends its own
  // gRPC's own reconnect backoff after a failed connection attempt; kept close
  // to our retry backoff so a collector that comes back is seen at the next retry.
  std::chrono::milliseconds reconnect_backoff{1000};
  // Longest wait for one connection attempt (TCP + TLS + HTTP/2 settings).
  std::chrono::milliseconds connect_timeout{10000};
  size_t max_response_bytes = 64 * 1024;
};

struct GrpcResponse {
  int code = 0;            // grpc::StatusCode; 0 = OK
  std::string message;     // status message (the server's text, or gRPC's own)
  std::string details;     // grpc-status-details-bin: a serialized google.rpc.Status
  std::string body;        // the response message on OK, at most max_response_bytes
  bool aborted = false;    // abort() cancelled it (code is then CANCELLED)
};

class GrpcTransport {
 public:
  virtual ~GrpcTransport() = default;
  // Blocks until the call completes, `timeout` (the call's deadline) passes, or
  // abort(). The returned reference stays valid until the next call().
  virtual const GrpcResponse& call(std::string_view request, std::chrono::milliseconds timeout) noexcept = 0;
  // Any thread: the running and every later call() end promptly with aborted.
  virtual void abort() noexcept = 0;
};

// Throws std::runtime_error when a TLS file cannot be read (validate first).
std::unique_ptr<GrpcTransport> create_grpc_transport(const GrpcTransportOptions& options);

// "http://h:4317/x" -> {"h:4317", false}; "https://h" -> {"h:443", true};
// "h:4317" -> {"h:4317", !insecure}. nullopt for another scheme or no host.
struct GrpcTarget {
  std::string authority;
  bool tls = false;
};
std::optional<GrpcTarget> grpc_target_from_endpoint(std::string_view endpoint, bool insecure);

// Empty when `key` is usable as gRPC metadata (after lowercasing) with `value`,
// else why not. Never quotes the value.
std::string check_grpc_metadata(std::string_view key, std::string_view value);

// The wait a server asked for with google.rpc.RetryInfo inside a serialized
// google.rpc.Status (grpc-status-details-bin); nullopt when there is none or
// the bytes are malformed. Capped at one day, like Retry-After.
std::optional<std::chrono::milliseconds> grpc_retry_delay(std::string_view status_details) noexcept;

const char* grpc_code_name(int code) noexcept;

}  // namespace bto
