#include "report/report_command.h"

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "common/errors.h"
#include "common/version.h"
#include "report/report_page.h"

namespace bto::report {
namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return text;
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw StartupError("writing " + path + " failed: " + std::strerror(errno), 1);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// Written next to its final name, then renamed: a reader never sees half a page.
void write_output(const std::string& path, const std::string& page) {
  if (path == "-") {
    write_all(STDOUT_FILENO, page, "stdout");
    return;
  }
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw StartupError("cannot create " + temporary + ": " + std::strerror(errno), 1);
  try {
    write_all(fd, page, temporary);
  } catch (...) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  if (::close(fd) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw StartupError("cannot write " + path + ": " + std::strerror(error), 1);
  }
}

}  // namespace

int run_report_command(const std::vector<std::string>& args) {
  CLI::App cli{fmt::format("{} report: one self-contained HTML page (trace list, filters, a waterfall per trace, "
                           "span details) from OTLP/JSON files (--exporter file, the Collector's file exporter) "
                           "and JSON console views (--console-format json). Opens from file://, offline.",
                           kProgramName),
               std::string(kProgramName) + " report"};
  std::vector<std::string> inputs;
  std::string output = "traces.html";
  PageOptions page;
  cli.add_option("files", inputs, "Files to read ('-' = stdin)")->required()->type_name("FILE");
  cli.add_option("-o,--output", output, "Where to write the page ('-' = stdout)")->capture_default_str()->type_name("PATH");
  cli.add_option("--title", page.title, "Page title")->capture_default_str();
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  reversed.pop_back();  // program
  reversed.pop_back();  // "report"
  try {
    cli.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::fputs(cli.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& error) {
    throw StartupError(fmt::format("report: {} (see report --help)", error.what()));
  }
  const auto started = std::chrono::steady_clock::now();
  Model model;
  for (const std::string& input : inputs) {
    std::string error;
    if (!model.read_file(input == "-" ? "/dev/stdin" : input, error)) throw StartupError("report: " + error);
  }
  for (const std::string& warning : model.warnings) spdlog::warn("report: {}", warning);
  model.finish();
  page.generated = utc_now();
  std::string html;
  write_page(model, page, html);
  write_output(output, html);
  uint64_t skipped = 0;
  for (const FileSummary& file : model.files) skipped += file.skipped;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("report: {} traces, {} spans from {} file(s){}{} -> {} ({:.1f} MB, {:.2f} s)", model.traces.size(),
               model.spans.size() - model.duplicates, inputs.size(),
               skipped ? fmt::format(", {} lines skipped", skipped) : "",
               model.duplicates ? fmt::format(", {} duplicate spans left out", model.duplicates) : "", output,
               static_cast<double>(html.size()) / 1e6, seconds);
  if (model.spans.empty()) spdlog::warn("report: no spans found in the input");
  return 0;
}

}  // namespace bto::report
