#include "app/wiring.h"

#include <spdlog/spdlog.h>

#include <fstream>
#include <iterator>
#include <chrono>
#include <cstdlib>

#include "common/errors.h"
#include "common/version.h"
#include "export/console_exporter.h"
#include "export/file_exporter.h"
#include "export/otlp_exporter.h"
#include "export/resource.h"
#include "source/bpftrace_command.h"
#include "source/bpftrace_process.h"
#include "source/traced_binary.h"

namespace bto {

std::optional<BpftraceRelease> detect_bpftrace(const AppOptions& options) {
  if (!options.input_path.empty()) return std::nullopt;
  const char* path_env = std::getenv("PATH");
  const auto path = find_executable(options.source.bpftrace_path,
                                    path_env != nullptr ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!path) return std::nullopt;
  auto release = detect_bpftrace_version(*path, std::chrono::seconds(10));
  if (release) {
    spdlog::info("bpftrace {} ({})", release->text, *path);
  } else {
    spdlog::warn("cannot tell the version of {} (`{} --version` printed none): version-specific handling is off "
                 "(docs/compatibility.md)",
                 *path, *path);
  }
  return release;
}

ResourceInfo make_resource(const AppOptions& options, const std::optional<BpftraceRelease>& bpftrace) {
  ResourceOptions resource;
  resource.service_name = options.service_name;
  resource.resource_attributes = options.resource_attributes;
  resource.exporter_mode = options.source.mode;
  resource.tracer_name = options.tracer_name;
  resource.version = kVersion;
  if (bpftrace) resource.bpftrace_version = bpftrace->text;
  return build_resource(resource);
}

std::unique_ptr<ProcessResources> make_process_resources(const AppOptions& options, const ResourceInfo& own,
                                                         ResourceStats& stats) {
  // "unknown_service" is what finish_options() leaves when nothing was configured.
  std::string configured = options.service_name == "unknown_service" ? std::string() : options.service_name;
  return create_process_resources(options.resource, own, std::move(configured),
                                  options.correlator.limits.attribute_value_length, stats);
}

const LocalOutput* LocalOutputs::closed() const noexcept {
  for (const auto* output : {console.get(), file.get()}) {
    if (output != nullptr && output->closed()) return output;
  }
  return nullptr;
}

const LocalOutput* LocalOutputs::failed() const noexcept {
  for (const auto* output : {console.get(), file.get()}) {
    if (output != nullptr && output->first_error() != 0) return output;
  }
  return nullptr;
}

LocalOutputs open_local_outputs(const AppOptions& options) {
  LocalOutputs outputs;
  outputs.console = LocalOutput::open(LocalOutputOptions{});
  if (options.exporter == TracesExporter::kFile) {
    outputs.file = options.output.path == "-" ? outputs.console : LocalOutput::open(options.output);
  }
  return outputs;
}

ExporterFactory make_exporter_factory(const AppOptions& options, const ResourceInfo& resource,
                                      PipelineStats& stats, const LocalOutputs& outputs) {
  switch (options.exporter) {
    case TracesExporter::kOtlp:
      spdlog::info("exporting spans to {} ({}, compression {})", redact_url(options.otlp.endpoint),
                   to_string(options.otlp.protocol), to_string(options.otlp.compression));
      return [otlp = options.otlp, resource, &stats] {
        return create_otlp_exporter(otlp, resource, stats.exporter);
      };
    case TracesExporter::kNone:
      return [] { return create_discard_exporter(); };
    case TracesExporter::kFile:
      spdlog::info("writing spans as OTLP/JSON lines to {}{}", outputs.file->name(),
                   options.output.max_bytes == 0
                       ? std::string()
                       : fmt::format(" (rotated at {} bytes, {} kept)", options.output.max_bytes, options.output.keep));
      return [resource, output = outputs.file] { return create_file_exporter(resource, output); };
    case TracesExporter::kConsole:
      break;
  }
  return [console = options.console, resource, output = outputs.console, &stats] {
    return create_console_exporter(console, resource, output, stats.tree);
  };
}

SpanMetricsParts make_span_metrics(const AppOptions& options, const ResourceInfo& resource,
                                   SpanMetricsStats& stats, const LocalOutputs& outputs) {
  const SpanMetricsOptions& m = options.metrics;
  MetricsExporterKind kind = m.exporter;
  if (kind == MetricsExporterKind::kAuto) {
    // Where spans go to a collector, so do their metrics; a console session stays quiet.
    kind = options.exporter == TracesExporter::kOtlp || !m.endpoint.empty() ? MetricsExporterKind::kOtlp
                                                                             : MetricsExporterKind::kNone;
  }
  if (!m.enabled || kind == MetricsExporterKind::kNone) return {};
  if (const std::string problem = validate_span_metrics_options(m); !problem.empty()) {
    throw StartupError(problem);
  }
  std::unique_ptr<MetricsExporter> exporter;
  if (kind == MetricsExporterKind::kConsole) {
    exporter = create_console_metrics_exporter(outputs.console);
    spdlog::info("printing span metrics every {} ms", m.export_interval.count());
  } else if (kind == MetricsExporterKind::kFile) {
    if (!outputs.file) {
      throw StartupError("--metrics-exporter file writes into the file exporter's output: pass --exporter file "
                         "--output PATH");
    }
    exporter = create_file_metrics_exporter(resource, outputs.file);
    spdlog::info("writing span metrics as OTLP/JSON lines to {} every {} ms", outputs.file->name(),
                 m.export_interval.count());
  } else {
    // Protocol, headers, TLS, compression and retries as for spans.
    OtlpOptions otlp = options.otlp;
    const bool grpc = otlp.protocol == OtlpProtocol::kGrpc;
    if (!m.endpoint.empty()) {
      otlp.endpoint = m.endpoint;
    } else if (!grpc) {  // gRPC addresses the method, not a path: same endpoint as spans
      otlp.endpoint = otlp_metrics_url_from_traces(options.otlp.endpoint);
    }
    otlp.retry.max_elapsed = m.export_timeout;
    if (const std::string problem = validate_otlp_options(otlp); !problem.empty()) {
      throw StartupError("metrics: " + problem);
    }
    spdlog::info("exporting span metrics to {}{} every {} ms", redact_url(otlp.endpoint), grpc ? " (gRPC)" : "",
                 m.export_interval.count());
    exporter = create_otlp_metrics_exporter(resource, grpc ? create_otlp_grpc_metrics_transport(otlp, stats)
                                                           : create_otlp_http_metrics_transport(otlp, stats));
  }
  SpanMetricsParts parts;
  parts.metrics = create_span_metrics(m, stats);
  parts.reader = start_metrics_reader(*parts.metrics, std::move(exporter), m.export_interval, m.export_timeout);
  return parts;
}

LiveOutcome run_live(const AppOptions& options, const std::optional<BpftraceRelease>& bpftrace, Pipeline& pipeline,
                     StopSignals& signals, PipelineStats& stats, const LocalOutputs& outputs) {
  SourceOptions source_options = options.source;
  if (bpftrace) source_options.bpftrace_version = bpftrace->version;
  source_options.arrival_times_used = &stats.spans.arrival_times_used;
  {
    // With --pid: the binary after -- must be one the process runs (a python3
    // started through PATH may be another interpreter): resolved or explained.
    std::string script = source_options.program_text;
    if (script.empty()) {
      std::ifstream in(source_options.script_path);
      script.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    resolve_traced_binaries(source_options, script);
    resolve_literal_binaries(source_options, script);
  }
  auto source = create_bpftrace_source(source_options, stats.source);
  source->check();
  LiveOutcome outcome;
  const auto tick = [&] {
    int signal = signals.take();
    // on_queue_full=block: a signal may have been taken while the reader waited for queue room.
    if (signal == 0 && outcome.stop_signal == 0) signal = pipeline.stop_signal();
    if (signal != 0) {
      if (outcome.stop_signal == 0) {
        outcome.stop_signal = signal;
        spdlog::info("received {}, stopping bpftrace", strsignal(signal));
      }
      source->request_stop();
    }
    if (outputs.closed() != nullptr) source->request_stop();
    pipeline.sweep();
  };
  const SourceResult result = source->run(pipeline, tick);
  switch (result.end) {
    case SourceEnd::kTargetExited:
      spdlog::info("target exited; bpftrace ended with status {}", result.bpftrace_exit_code);
      break;
    case SourceEnd::kBpftraceExited:
      spdlog::info("bpftrace exited (status {})", result.bpftrace_exit_code);
      break;
    case SourceEnd::kStopped:
      break;
    case SourceEnd::kFailed:
      spdlog::error("{}", result.message);
      outcome.exit_code = 1;
      break;
  }
  return outcome;
}

}  // namespace bto
