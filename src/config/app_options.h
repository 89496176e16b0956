#pragma once
// Every component's options in one place, filled by load_config() from
// flags > environment > config file > defaults. Defaults live in each
// component's own options struct and are written only there.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/family_config.h"
#include "decode/decoder.h"
#include "export/batch_processor.h"
#include "export/console_exporter.h"
#include "export/local_output.h"
#include "export/otlp_exporter.h"
#include "metrics/span_metrics.h"
#include "resource/process_resources.h"
#include "source/bpftrace_process.h"
#include "spans/correlator.h"
#include "spans/handlers/event_handler.h"

namespace bto {

// kFile: OTLP/JSON lines (ExportTraceServiceRequest) to `output`.
enum class TracesExporter { kConsole, kOtlp, kNone, kFile };

struct AppOptions {
  std::string input_path;  // replay a recorded stream ("-" = stdin); no bpftrace started
  std::string log_level = "info";
  TracesExporter exporter = TracesExporter::kConsole;
  ConsoleOptions console;
  LocalOutputOptions output;  // --exporter file (and --metrics-exporter file): PATH or "-"
  DecodeOptions decode;
  CorrelatorOptions correlator;
  HandlerOptions handlers;
  DeclaredFamilies families;  // [[family]] tables of the config file
  BatchOptions batch;
  SpoolOptions spool;  // --spool-dir; off when dir is empty
  OtlpOptions otlp;
  SpanMetricsOptions metrics;  // RED metrics from spans (docs/metrics.md)
  SourceOptions source;
  ProcessResourceOptions resource;  // per-process resources (docs/resources.md)
  std::chrono::milliseconds shutdown_timeout{10000};
  std::chrono::milliseconds status_interval{0};  // periodic status line; 0 = off
  std::string metrics_listen;  // HOST:PORT for /metrics, /healthz, /readyz; empty = off
  std::string service_name = "unknown_service";
  std::string resource_attributes;  // OTEL_RESOURCE_ATTRIBUTES, raw
  std::string tracer_name = "bpftrace-exporter";

  // Whether a value was set explicitly (rules in finish_options depend on it).
  bool exporter_explicit = false;
  bool service_name_explicit = false;
  bool schedule_delay_explicit = false;
  bool endpoint_set = false;
  bool output_set = false;
};

// Where a setting's effective value came from, for --print-config.
struct SettingOrigin {
  std::string key;
  std::string value;  // secrets masked
  std::string source;  // "flag --x", "env X", "default"
};

struct LoadedConfig {
  AppOptions options;
  std::vector<SettingOrigin> origins;
  bool print_config = false;
  // Risky but valid settings, for the log once it is set up (main prints them).
  std::vector<std::string> warnings;
  // Environment variables main() removes before any library reads them
  // (GRPC_TRACE while OTLP headers are set: gRPC's tracers log request metadata).
  std::vector<std::string> unset_environment;
  // --help / --version: print `early_output` to stdout and exit 0.
  bool exit_early = false;
  std::string early_output;
};

// Returns the value of an environment variable, or nullopt. Injected so tests
// need no setenv.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_environment();

// Throws StartupError naming the setting and its accepted values.
LoadedConfig load_config(const std::vector<std::string>& args, const EnvLookup& env);

std::string format_config(const LoadedConfig& config);

}  // namespace bto
