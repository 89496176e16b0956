// Live tracing settings: the seed's TARGET_PID / BPF_SCRIPT / EXPORTER_MODE and
// how bpftrace is run and supervised.

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "config/settings.h"
#include "config/setting_values.h"
#include "config/value_parsers.h"
#include "source/bpftrace_command.h"

namespace bto {
namespace {

}  // namespace

void add_source_settings(std::vector<Setting>& s) {
  const std::string group = "Live tracing";
  s.push_back({"script", "-s,--script", {"BPF_SCRIPT"}, group,
               "bpftrace script to run (see examples/scripts/)", "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.source.script_path = v;
               },
               [](const AppOptions& o) { return o.source.script_path; }});
  s.push_back({"program", "-e,--program", {}, group,
               "bpftrace program text instead of a script file", "PROGRAM", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.source.program_text = v;
               },
               [](const AppOptions& o) { return o.source.program_text; }});
  s.push_back({"pid", "-p,--pid", {"TARGET_PID"}, group,
               "Process to trace (bpftrace -p); unset or 0 = every process running the probed "
               "binary, including ones started later",
               "PID", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 const auto pid = parse_unsigned(v);
                 if (!pid || *pid > 4194304) reject("pid", src, v, "a process id (or 0)");
                 o.source.target_pid = static_cast<int>(*pid);
               },
               [](const AppOptions& o) { return std::to_string(o.source.target_pid); }});
  s.push_back({"command", "-c,--command", {}, group,
               "Start this command under bpftrace (bpftrace -c) and trace it", "CMD", false,
               false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.source.command = v;
               },
               // Shown with secret-looking values redacted, like in the log (common/redact.h).
               [](const AppOptions& o) { return describe_command(o.source.command); }});
  s.push_back({"command_output", "--command-output", {"BTO_COMMAND_OUTPUT"}, group,
               "Where the --command's stdout and stderr go: inherit (ours), null, or a file (appended); "
               "never into the event stream",
               "DEST", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v.empty()) reject("command_output", src, v, "inherit, null or a file path");
                 o.source.command_output = v == "inherit" ? "" : v == "null" ? "/dev/null" : v;
               },
               [](const AppOptions& o) {
                 return o.source.command_output.empty() ? std::string("inherit") : o.source.command_output;
               }});
  s.push_back({"mode", "--mode", {"EXPORTER_MODE"}, group,
               "usdt (probes defined at run time, libstapsdt: needs a PID) or native-usdt "
               "(probes compiled into the binary, sys/sdt.h)",
               "MODE", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v != "usdt" && v != "native-usdt") reject("mode", src, v, "usdt or native-usdt");
                 o.source.mode = v;
               },
               [](const AppOptions& o) { return o.source.mode; }});
  s.push_back({"bpftrace", "--bpftrace", {"BPFTRACE_PATH"}, group,
               "bpftrace binary (looked up in PATH)", "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string&) {
                 o.source.bpftrace_path = v;
               },
               [](const AppOptions& o) { return o.source.bpftrace_path; }});
  s.push_back({"restart", "--restart", {"BTO_RESTART"}, group,
               "Restart bpftrace when it dies while the target lives: on-failure or never",
               "POLICY", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "on-failure") {
                   o.source.restart = SourceOptions::RestartPolicy::kOnFailure;
                 } else if (v == "never") {
                   o.source.restart = SourceOptions::RestartPolicy::kNever;
                 } else {
                   reject("restart", src, v, "on-failure or never");
                 }
               },
               [](const AppOptions& o) {
                 return std::string(o.source.restart == SourceOptions::RestartPolicy::kNever
                                        ? "never"
                                        : "on-failure");
               }});
  s.push_back({"max_restarts", "--max-restarts", {}, group,
               "Give up after this many restarts (0 = never give up)", "N", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 const auto n = parse_unsigned(v);
                 if (!n || *n > 1'000'000) reject("max_restarts", src, v, "an integer >= 0");
                 o.source.max_restarts = static_cast<int>(*n);
               },
               [](const AppOptions& o) { return std::to_string(o.source.max_restarts); }});
  s.push_back({"stop_grace", "--stop-grace", {}, group,
               "Time bpftrace gets to exit after SIGINT before SIGTERM/SIGKILL", "DURATION",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.source.stop_grace = std::chrono::duration_cast<std::chrono::milliseconds>(duration_or_reject(
                     "stop_grace", v, src,
                     {std::chrono::seconds(1), std::chrono::milliseconds(1), std::chrono::minutes(10),
                      "SIGTERM at once (bpftrace does not print its maps)"}));
               },
               [](const AppOptions& o) { return show_ms(o.source.stop_grace); }});
  s.push_back({"read_coalesce", "--read-coalesce", {}, group,
               "After a small read of bpftrace's output, wait this long before reading again (fewer wakeups at "
               "moderate event rates; 0 = read at once). By default the longer wait applies while every event "
               "carries its own timestamp",
               "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.source.read_coalesce = std::chrono::duration_cast<std::chrono::microseconds>(duration_or_reject(
                     "read_coalesce", v, src,
                     {std::chrono::milliseconds(1), std::chrono::microseconds(1), std::chrono::seconds(1),
                      "read at once"}));
                 o.source.read_coalesce_timestamped = o.source.read_coalesce;
               },
               [](const AppOptions& o) {
                 const auto show = [](std::chrono::microseconds wait) {
                   const auto us = wait.count();
                   return us % 1000 == 0 ? show_ms(std::chrono::milliseconds(us / 1000)) : std::to_string(us) + "us";
                 };
                 if (o.source.read_coalesce == o.source.read_coalesce_timestamped) return show(o.source.read_coalesce);
                 return show(o.source.read_coalesce_timestamped) + " (timestamped events), " +
                        show(o.source.read_coalesce);
               }});
}

std::string settings_footer() {
  return "Precedence: flags > environment > config file (--config) > defaults. Durations take a unit (250ms, 10s, 5m).\n"
         "Extra bpftrace arguments go after `--`, e.g. `-- -v`.\n"
         "Documentation: README.md, docs/ (event format, spans, OTLP).";
}

void finish_options(AppOptions& o, const std::vector<std::string>& passthrough, const EnvLookup& env,
                    std::vector<std::string>& warnings) {
  o.source.extra_args = passthrough;
  if (o.batch.max_export_batch_size > o.batch.max_queue_size) {
    // The OTel spec: the batch size must not exceed the queue; a batch could never fill.
    warnings.push_back(fmt::format("bsp_max_export_batch_size {} is larger than bsp_max_queue_size {}: "
                                   "batches of {} spans are sent instead",
                                   o.batch.max_export_batch_size, o.batch.max_queue_size, o.batch.max_queue_size));
    o.batch.max_export_batch_size = o.batch.max_queue_size;
  }
  o.source.max_line_bytes = o.decode.max_line_bytes;
  if (!o.exporter_explicit && o.endpoint_set) o.exporter = TracesExporter::kOtlp;
  finish_output_options(o, env);
  if (!o.service_name_explicit) {
    // OTEL_RESOURCE_ATTRIBUTES may name the service; otherwise the OTel default.
    const KeyValueParse attributes = parse_resource_attributes(o.resource_attributes);
    o.service_name = "unknown_service";
    for (const auto& [key, value] : attributes.pairs) {
      if (key == "service.name" && !value.empty()) o.service_name = value;
    }
  }
  if (o.exporter == TracesExporter::kConsole) {
    // A live view: print spans soon after they end, in order.
    if (!o.schedule_delay_explicit) o.batch.schedule_delay = std::chrono::milliseconds(200);
    o.batch.max_concurrent_exports = 1;
  }
  // One writer per local output: lines in order, and the tree view sees every span.
  if (o.exporter == TracesExporter::kFile) o.batch.max_concurrent_exports = 1;
  o.otlp.retry.max_elapsed = o.batch.export_timeout;
  if (!o.spool.dir.empty() && o.exporter != TracesExporter::kOtlp) {
    throw StartupError("spool_dir keeps OTLP export requests for later: it needs the otlp exporter (an endpoint, "
                       "or --exporter otlp); the console and none exporters have nothing to resend");
  }
  o.otlp.failures_spooled = !o.spool.dir.empty();
  if (o.exporter == TracesExporter::kOtlp) {
    if (const std::string problem = validate_otlp_options(o.otlp); !problem.empty()) {
      throw StartupError(problem);
    }
  }
  // Process resources: --pid names the one process; a replay's pids are not ours to read.
  o.resource.single_pid = o.input_path.empty() ? o.source.target_pid : 0;
  o.resource.read_proc = o.input_path.empty();
  o.metrics.max_resources = o.resource.max_processes;
  const bool live = !o.source.script_path.empty() || !o.source.program_text.empty();
  if (!o.input_path.empty()) {
    if (live || !o.source.command.empty()) {
      throw StartupError(
          "--input replays a recorded stream and cannot be combined with --script, --program "
          "or --command (unset BPF_SCRIPT to replay)");
    }
    return;
  }
  if (!live) {
    throw StartupError(
        "nothing to trace: pass --script FILE (or BPF_SCRIPT) to run bpftrace against a "
        "process, or --input FILE to replay a recorded stream (see --help)");
  }
  if (!o.source.script_path.empty() && !o.source.program_text.empty()) {
    throw StartupError("--script and --program are alternatives: pass one of them");
  }
}

}  // namespace bto
