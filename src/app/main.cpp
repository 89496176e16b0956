// bpftrace-otel entry point: configuration, lifecycle, final summary.

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/run.h"
#include "common/errors.h"
#include "common/log.h"
#include "config/app_options.h"
#include "report/report_command.h"

int main(int argc, char** argv) {
  using namespace bto;
  std::vector<std::string> args(argv, argv + argc);
  try {
    if (args.size() > 1 && args[1] == "report") {
      init_logging("info");
      return report::run_report_command(args);
    }
    LoadedConfig config = load_config(args, process_environment());
    if (config.exit_early) {
      std::fputs(config.early_output.c_str(), stdout);
      return 0;
    }
    // Before any library (gRPC) reads them and before any thread starts.
    for (const std::string& name : config.unset_environment) ::unsetenv(name.c_str());
    if (config.print_config) {
      for (const std::string& warning : config.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
      std::fputs(format_config(config).c_str(), stdout);
      return 0;
    }
    if (!init_logging(config.options.log_level)) {
      throw StartupError("invalid log level " + config.options.log_level);
    }
    for (const std::string& warning : config.warnings) spdlog::warn("{}", warning);
    return run(config.options);
  } catch (const StartupError& error) {
    std::fprintf(stderr, "bpftrace-otel: error: %s\n", error.what());
    return error.exit_code();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bpftrace-otel: fatal: %s\n", error.what());
    return 1;
  }
}
