#pragma once
// OTLP/HTTP span exporter (protobuf or JSON), with retries per the OTLP spec.
// See docs/otlp.md for every setting and the failure behaviour.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "export/batch_processor.h"
#include "export/resource.h"
#include "export/retry_policy.h"
#include "export/span_exporter.h"

namespace bto {

enum class OtlpProtocol { kHttpProtobuf, kHttpJson, kGrpc };
enum class OtlpCompression { kNone, kGzip };

struct OtlpOptions {
  std::string endpoint = "http://localhost:4318/v1/traces";  // full URL, resolved by config
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
  std::vector<std::pair<std::string, std::string>> headers;  // values never logged
  std::chrono::milliseconds timeout{10000};                  // per request
  OtlpCompression compression = OtlpCompression::kNone;
  std::string certificate_file;         // CA bundle to verify the collector (https)
  std::string client_key_file;          // mTLS
  std::string client_certificate_file;  // mTLS
  bool insecure_skip_verify = false;    // logs a warning once
  // OTEL_EXPORTER_OTLP_INSECURE: plaintext gRPC for an endpoint without a scheme.
  bool insecure = false;
  RetryOptions retry;
  // Set by the wiring when a spool keeps failed requests (--spool-dir): log
  // lines say so, and OTLP/HTTP can also send spooled requests of the other
  // encoding (JSON with http/protobuf and back).
  bool failures_spooled = false;
};

// The exporter counts export_requests, export_retries, export_failures,
// dropped_partial_success and export_latency_us_total in `stats`; per-batch
// span counts are the BatchProcessor's, from the returned ExportResult.
// shutdown() may be called from another thread while export_batch() runs: the
// export then returns kRetryable promptly. `stats` must outlive the exporter.
std::unique_ptr<SpanExporter> create_otlp_exporter(const OtlpOptions& options,
                                                   const ResourceInfo& resource, ExportStats& stats);

// Empty when usable, else a message for the user (missing files, bad scheme).
std::string validate_otlp_options(const OtlpOptions& options);

// OTEL_EXPORTER_OTLP_ENDPOINT semantics: "http://h:4318" and "http://h:4318/"
// -> "http://h:4318/v1/traces"; "http://h/base/" -> "http://h/base/v1/traces".
std::string otlp_traces_url_from_base(std::string_view base);

// OTEL_EXPORTER_OTLP_HEADERS: same grammar as OTEL_RESOURCE_ATTRIBUTES
// (percent-decoded values). Also rejects names that are not HTTP tokens and
// values with CR/LF/NUL after decoding. Errors never quote values.
KeyValueParse parse_otlp_headers(std::string_view text);

// For logs and --print-config: the URL without userinfo and query (either may
// carry a token).
std::string redact_url(std::string_view url);

const char* to_string(OtlpProtocol protocol) noexcept;
const char* to_string(OtlpCompression compression) noexcept;

}  // namespace bto
