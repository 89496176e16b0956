#pragma once
// Private to resource/: one process's OTLP resource, from what was read
// about it (process_info.h) and what every resource of this exporter carries
// (ResourceBase). The rules, documented in docs/resources.md:
//
// service.name, first of: the process's own OTEL_SERVICE_NAME; service.name
// in its own OTEL_RESOURCE_ATTRIBUTES; the exporter's configured service name
// (--service-name, OTEL_SERVICE_NAME, SERVICE_NAME, service.name in its
// OTEL_RESOURCE_ATTRIBUTES); "unknown_service:<process.executable.name>", the
// OpenTelemetry SDKs' default.
//
// Other attributes, later wins: the exporter's base (host.*, os.type,
// telemetry.sdk.*, its OTEL_RESOURCE_ATTRIBUTES), then the process's own
// OTEL_RESOURCE_ATTRIBUTES, except that what was measured (process.*,
// container.*, k8s.pod.uid, telemetry.sdk.*) cannot be overridden by a
// process's claims. A process contributes at most kMaxEnvAttributes of its
// own attributes, and all processes together at most kMaxEnvKeys distinct
// keys (attribute keys are interned for the life of the exporter).

#include <cstddef>
#include <memory>
#include <functional>
#include <set>
#include <string>

#include "resource/process_info.h"
#include "spans/resource.h"

namespace bto {

inline constexpr size_t kMaxEnvAttributes = 32;
inline constexpr size_t kMaxEnvKeys = 1024;
inline constexpr size_t kMaxEnvKeyBytes = 256;

struct ResourceBase {
  AttributeList attributes;              // without service.name
  std::string configured_service_name;   // empty: not configured
  bool use_process_environment = true;   // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES of the process
  size_t value_limit = 4096;             // attribute values (command args) cut to this many bytes
};

// What building one resource counted.
struct BuildNotes {
  size_t env_attributes_dropped = 0;  // beyond a limit, or measured keys a process tried to override
  bool env_attributes_invalid = false;  // its OTEL_RESOURCE_ATTRIBUTES did not parse: ignored whole
};

// Distinct keys taken from processes' environments so far (kMaxEnvKeys).
using EnvKeyBudget = std::set<std::string, std::less<>>;

std::unique_ptr<Resource> build_process_resource(const ProcessInfo& info, const ResourceBase& base,
                                                 EnvKeyBudget& env_keys, BuildNotes& notes);

// A resource naming only the pid (replay: the recorded processes are not ours
// to read; or a process already gone at first sight).
std::unique_ptr<Resource> build_pid_resource(int64_t pid, const ResourceBase& base);

// process.runtime.name and .version guessed from the executable's name
// (python3.11 -> cpython 3.11); empty name when not a known runtime.
struct RuntimeGuess {
  std::string name, version;
};
RuntimeGuess guess_runtime(std::string_view executable_name);

}  // namespace bto
