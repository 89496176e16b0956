#pragma once
// The two OTLP carriers under a RetryingSender, shared by the span exporters
// and the metrics transports: each sends bytes once and classifies the answer
// per the OTLP spec (HTTP status / gRPC code, Retry-After / RetryInfo,
// partial_success, the collector's error message).

#include <memory>
#include <string>
#include <string_view>

#include "export/otlp_exporter.h"
#include "export/retrying_sender.h"

namespace bto {

// OTLP/HTTP: POST to options.endpoint with `content_type`, the headers, TLS
// settings and gzip (once per request, in prepare()) of `options`.
// options.protocol is ignored; partial_success is read as JSON when the request
// is JSON or the answer says it is, else as protobuf.
std::unique_ptr<SendTransport> create_otlp_http_send_transport(const OtlpOptions& options,
                                                               std::string content_type);

// OTLP/gRPC: a unary call of `method` (gzip as gRPC message compression,
// headers as lowercase metadata); the endpoint's path is ignored.
// Throws std::runtime_error when a TLS file cannot be read (validate first).
std::unique_ptr<SendTransport> create_otlp_grpc_send_transport(const OtlpOptions& options, const char* method);

// For log lines: scheme and authority without userinfo, no path or query, + " (gRPC)".
std::string grpc_endpoint_for_logs(std::string_view endpoint);

}  // namespace bto
