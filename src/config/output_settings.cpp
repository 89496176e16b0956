// Settings of the local outputs: the console's tree view and colours, and the
// file exporter's path and rotation (docs/console.md).

#include <fmt/format.h>

#include <cctype>
#include <limits>

#include "common/errors.h"
#include "config/settings.h"
#include "config/setting_values.h"
#include "config/value_parsers.h"

namespace bto {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// "0", "4096", "64KiB", "100MiB", "2GiB", "500MB", "10k", "5M", "1G" (k/M/G:
// binary, like KiB/MiB/GiB; KB/MB/GB: decimal).
std::optional<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  const auto number = parse_unsigned(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string unit(text.substr(digits));
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  uint64_t scale = 1;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "k" || unit == "K" || unit == "KiB") {
    scale = 1ull << 10;
  } else if (unit == "M" || unit == "MiB") {
    scale = 1ull << 20;
  } else if (unit == "G" || unit == "GiB") {
    scale = 1ull << 30;
  } else if (unit == "KB" || unit == "kB") {
    scale = 1000;
  } else if (unit == "MB") {
    scale = 1000'000;
  } else if (unit == "GB") {
    scale = 1000'000'000;
  } else {
    return std::nullopt;
  }
  if (*number > std::numeric_limits<uint64_t>::max() / scale) return std::nullopt;
  return *number * scale;
}

uint64_t size_or_reject(const std::string& key, const std::string& value, const std::string& source, uint64_t min,
                        uint64_t max) {
  const auto parsed = parse_size(value);
  if (!parsed || *parsed < min || *parsed > max) {
    reject(key, source, value,
           fmt::format("a size from {} to {} bytes, e.g. 4096, 64KiB, 100MiB, 1GiB", min, max));
  }
  return *parsed;
}

milliseconds duration_in_range(const std::string& key, const std::string& value, const std::string& source,
                               milliseconds min, milliseconds max) {
  const auto parsed = parse_duration(value, seconds(1));
  if (!parsed || *parsed < min || *parsed > max) {
    reject(key, source, value,
           fmt::format("a duration from {} to {}, e.g. 500ms, 2s, 1m (a bare number is seconds)", show_duration(min),
                       show_duration(max)));
  }
  return std::chrono::duration_cast<milliseconds>(*parsed);
}

}  // namespace

void add_output_settings(std::vector<Setting>& s) {
  const std::string group = "Output";
  s.push_back({"color", "--color", {}, group,
               "Colours in the tree view: auto (on a terminal, unless NO_COLOR is set), always or never", "WHEN",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v == "auto") {
                   o.console.color = ColorMode::kAuto;
                 } else if (v == "always") {
                   o.console.color = ColorMode::kAlways;
                 } else if (v == "never") {
                   o.console.color = ColorMode::kNever;
                 } else {
                   reject("color", src, v, "auto, always or never");
                 }
               },
               [](const AppOptions& o) {
                 switch (o.console.color) {
                   case ColorMode::kAlways: return std::string("always");
                   case ColorMode::kNever: return std::string("never");
                   case ColorMode::kAuto: break;
                 }
                 return std::string("auto");
               }});
  s.push_back({"tree_settle", "--tree-settle", {}, group,
               "Tree view: after a trace's root ends, how long to wait for its spans still open before "
               "printing it with them marked",
               "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.console.tree.settle = duration_in_range("tree_settle", v, src, milliseconds(0), std::chrono::hours(1));
               },
               [](const AppOptions& o) { return show_duration(o.console.tree.settle); }});
  s.push_back({"tree_max_hold", "--tree-max-hold", {}, group,
               "Tree view: a trace whose root has not ended is printed (marked) this long after its first span",
               "DURATION", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.console.tree.max_hold =
                     duration_in_range("tree_max_hold", v, src, milliseconds(10), std::chrono::hours(24));
               },
               [](const AppOptions& o) { return show_duration(o.console.tree.max_hold); }});
  s.push_back({"tree_max_traces", "--tree-max-traces", {}, group,
               "Tree view: traces held at once; at the limit the oldest is printed early (counted)", "N", false,
               false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.console.tree.max_traces = count_or_reject("tree_max_traces", v, src, 1, 10'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.console.tree.max_traces); }});
  s.push_back({"tree_max_spans", "--tree-max-spans", {}, group,
               "Tree view: spans held at once; at the limit the oldest trace is printed early (counted)", "N",
               false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.console.tree.max_spans = count_or_reject("tree_max_spans", v, src, 1, 100'000'000);
               },
               [](const AppOptions& o) { return std::to_string(o.console.tree.max_spans); }});
  s.push_back({"tree_max_bytes", "--tree-max-bytes", {}, group,
               "Tree view: memory the held spans may take; at the limit the oldest trace is printed early "
               "(counted)",
               "SIZE", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.console.tree.max_bytes = size_or_reject("tree_max_bytes", v, src, 64 << 10, 64ull << 30);
               },
               [](const AppOptions& o) { return show_size(o.console.tree.max_bytes); }});
  s.push_back({"output", "-o,--output", {}, group,
               "File exporter: write OTLP/JSON, one ExportTraceServiceRequest per line, to PATH ('-' = stdout); "
               "selects --exporter file unless an exporter or endpoint is set",
               "PATH", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 if (v.empty()) reject("output", src, v, "a file path, or - for stdout");
                 o.output.path = v;
                 o.output_set = true;
               },
               [](const AppOptions& o) { return o.output_set ? o.output.path : std::string(); }});
  s.push_back({"output_max_size", "--output-max-size", {}, group,
               "File exporter: rotate the file before it grows past SIZE (0 = never): PATH becomes PATH.1, "
               "PATH.1 becomes PATH.2, ...",
               "SIZE", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.output.max_bytes = v == "0" ? 0 : size_or_reject("output_max_size", v, src, 4096, 1ull << 50);
               },
               [](const AppOptions& o) { return show_size(o.output.max_bytes); }});
  s.push_back({"output_keep", "--output-keep", {}, group,
               "File exporter: rotated files kept (PATH.1 .. PATH.N); older ones are deleted", "N", false, false,
               [](AppOptions& o, const std::string& v, const std::string& src) {
                 o.output.keep = static_cast<uint32_t>(count_or_reject("output_keep", v, src, 0, 1000));
               },
               [](const AppOptions& o) { return std::to_string(o.output.keep); }});
}

void finish_output_options(AppOptions& o, const EnvLookup& env) {
  // https://no-color.org: set and not empty.
  if (o.console.color == ColorMode::kAuto) {
    if (const auto no_color = env("NO_COLOR"); no_color && !no_color->empty()) o.console.color = ColorMode::kNever;
  }
  if (o.output_set && o.exporter != TracesExporter::kFile) {
    if (o.exporter_explicit || o.endpoint_set) {
      throw StartupError("--output is where --exporter file writes; the span exporter here is another one "
                         "(drop --output, or pass --exporter file)");
    }
    o.exporter = TracesExporter::kFile;
  }
  if (o.exporter == TracesExporter::kFile && !o.output_set) {
    throw StartupError("--exporter file needs --output PATH (or --output - for stdout)");
  }
  if (o.output.max_bytes != 0 && (o.output.path == "-" || o.output.path.empty())) {
    throw StartupError("--output-max-size rotates a file: it does not apply to --output - (stdout)");
  }
}

}  // namespace bto
