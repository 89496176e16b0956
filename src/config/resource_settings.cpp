// Resource settings: where processes are read from, how many are kept, how
// often they are re-checked, and whether their own OTel environment is read
// (docs/resources.md).

#include "config/settings.h"
#include "config/setting_values.h"
#include "config/value_parsers.h"

namespace bto {

void add_resource_settings(std::vector<Setting>& s) {
  const std::string group = "Resources";
  s.push_back({"max_processes", "--max-processes", {"BTO_MAX_PROCESSES"}, group,
               "Traced processes with their own resource (and metrics); spans of further processes get the "
               "exporter's resource, counted",
               "N", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.resource.max_processes = count_or_reject("resource.max_processes", v, src, 1, 1'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.resource.max_processes); }});
  s.push_back({"proc_path", "--proc-path", {"BTO_PROC_PATH"}, group,
               "Where the traced processes' /proc is: /proc when sharing the host's pid namespace "
               "(hostPID), else the host's /proc mounted elsewhere",
               "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 std::string path = trim_spaces(v);
                 while (path.size() > 1 && path.back() == '/') path.pop_back();
                 if (path.empty() || path.front() != '/') reject("resource.proc_path", src, v, "an absolute path");
                 o.resource.proc_root = path;
               },
               [](const AppOptions& o) { return o.resource.proc_root; }});
  s.push_back({"recheck_interval", "--process-recheck-interval", {"BTO_PROCESS_RECHECK_INTERVAL"}, group,
               "How often each known process is checked for exit and pid reuse", "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 const auto d = parse_duration(v, std::chrono::seconds(1));
                 if (!d || *d < std::chrono::milliseconds(10) || *d > std::chrono::hours(1)) {
                   reject("resource.recheck_interval", src, v, "a duration from 10ms to 1h");
                 }
                 o.resource.recheck_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
               },
               [](const AppOptions& o) { return show_duration(o.resource.recheck_interval); }});
  s.push_back({"process_env", "--process-env", {"BTO_PROCESS_ENV"}, group,
               "Read OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES from each traced process's environment "
               "(/proc/PID/environ; nothing else is kept): true or false",
               "BOOL", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.resource.process_environment = bool_or_reject("resource.process_env", v, src);
               },
               [](const AppOptions& o) { return show_bool(o.resource.process_environment); }});
}

}  // namespace bto
