#pragma once
// The OTLP Resource (who produced the spans) and InstrumentationScope (us),
// plus the W3C-baggage-like "k=v,k=v" parser shared by OTEL_RESOURCE_ATTRIBUTES
// and OTEL_EXPORTER_OTLP_HEADERS.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "export/span_exporter.h"

namespace bto {

struct KeyValueParse {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string error;  // empty on success; never contains a value (may be a secret)
  bool ok() const noexcept { return error.empty(); }
};

// "k1=v1, k2=v%20two": comma-separated, whitespace around keys and values
// trimmed, values percent-decoded. Empty members (",,") are skipped. A member
// without '=', an empty key or a bad %-escape is an error; on error the whole
// string is to be discarded (OTel spec), so `pairs` is cleared.
KeyValueParse parse_resource_attributes(std::string_view text);

struct ResourceOptions {
  std::string service_name;         // resolved by config; empty -> from attributes -> unknown_service
  std::string resource_attributes;  // OTEL_RESOURCE_ATTRIBUTES, unparsed
  std::string host_name;            // empty -> gethostname()
  std::string machine_id_path = "/etc/machine-id";  // host.id; a missing file -> no host.id
  std::string exporter_mode;        // EXPORTER_MODE; "native-usdt" adds instrumentation.type
  std::string tracer_name = "bpftrace-exporter";  // TRACER_NAME -> scope name
  std::string version;              // empty -> bto::kVersion (scope and telemetry.sdk.version)
  std::string bpftrace_version;     // "0.27.1" (`bpftrace --version`); empty: replay, or unknown
};

// The exporter's own resource: what every span carries that names no process
// (and what every process resource starts from, src/resource/): service.name,
// host.name, host.id, host.arch, os.type, telemetry.sdk.*, then the
// configured attributes. Never fails: a malformed attribute string is logged
// and skipped.
ResourceInfo build_resource(const ResourceOptions& options);

// The service name the user configured (service_name, else service.name in
// resource_attributes); empty when none was.
std::string configured_service_name(const ResourceOptions& options);

}  // namespace bto
