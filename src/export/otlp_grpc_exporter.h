#pragma once
// OTLP/gRPC span export: the protobuf bytes of encode_otlp_protobuf() sent
// as a generic unary call to TraceService/Export over a persistent channel,
// through the same exporter and retrying sender as OTLP/HTTP, so retry,
// timeout, shutdown and counting are the same (docs/otlp.md, "OTLP/gRPC").

#include <memory>
#include <string>

#include "export/batch_processor.h"
#include "export/otlp_exporter.h"

namespace bto {

// Where an unset endpoint points with protocol grpc (OTLP spec).
inline constexpr const char* kOtlpGrpcDefaultEndpoint = "http://localhost:4317";

// create_otlp_exporter with protocol grpc, whatever options.protocol says. Same contract:
// counts export_requests, export_retries, export_failures,
// dropped_partial_success, export_latency_us_total; shutdown() from another
// thread cancels an in-flight call and interrupts a backoff wait.
// Throws std::runtime_error when a TLS file cannot be read (validate first).
std::unique_ptr<SpanExporter> create_otlp_grpc_exporter(const OtlpOptions& options,
                                                        const ResourceInfo& resource, ExportStats& stats);

// What only protocol grpc checks (validate_otlp_options() calls it, then
// checks TLS files and the timeout as for HTTP): the endpoint's form, header
// names and values usable as gRPC metadata.
std::string validate_otlp_grpc_options(const OtlpOptions& options);

// OTLP/gRPC failure handling (https://opentelemetry.io/docs/specs/otlp/#failures):
// CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and
// DATA_LOSS are retryable; RESOURCE_EXHAUSTED only when the server sent
// RetryInfo; every other code is permanent.
ExportResult classify_grpc_status(int code, bool has_retry_info) noexcept;

}  // namespace bto
