#pragma once
// `bpftrace-otel report FILE... -o traces.html`: one self-contained HTML page
// of the traces in OTLP/JSON files (`--exporter file`, the Collector's file
// exporter) and JSON console views (docs/console.md, "The report").

#include <string>
#include <vector>

namespace bto::report {

// `args` as main() got them, "report" at args[1]. Returns the exit code;
// throws StartupError on bad arguments or unreadable files.
int run_report_command(const std::vector<std::string>& args);

}  // namespace bto::report
