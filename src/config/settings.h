#pragma once
// The table of every setting: its key, flag, environment variables (in
// precedence order), help text and how it is applied. One row per setting;
// load_config() resolves them all the same way.

#include <functional>
#include <string>
#include <vector>

#include "config/app_options.h"

namespace bto {

struct Setting {
  std::string key;    // name in the config file and --print-config
  std::string flag;   // CLI11 spelling, e.g. "-i,--input"; empty = env only
  std::vector<std::string> env;  // first set one wins
  std::string group;  // --help section
  std::string help;
  std::string value_name;  // e.g. DURATION
  bool is_switch = false;  // flag without a value
  bool secret = false;     // masked in --print-config and never logged
  // Parses and stores `value`; throws StartupError naming the key and what is accepted.
  std::function<void(AppOptions&, const std::string& value, const std::string& source)> apply;
  // The effective value as text, for --print-config.
  std::function<std::string(const AppOptions&)> show;
};

const std::vector<Setting>& all_settings();
void add_export_settings(std::vector<Setting>& settings);
void add_queue_settings(std::vector<Setting>& settings);  // on_queue_full, spool
void add_source_settings(std::vector<Setting>& settings);
void add_trace_settings(std::vector<Setting>& settings);  // sampling, trace context, span limits
void add_metrics_settings(std::vector<Setting>& settings);  // span metrics (docs/metrics.md)
void add_resource_settings(std::vector<Setting>& settings);  // per-process resources (docs/resources.md)
void add_output_settings(std::vector<Setting>& settings);  // console views, file exporter (docs/console.md)
std::string settings_footer();
std::string mask_secret(const std::string& value);  // kMaskedValue, or "" for ""

// "******": a secret's value, length not shown either.
inline constexpr const char* kMaskedValue = "******";

// Rules that involve several settings (exporter selection from endpoints,
// service.name precedence, extra bpftrace arguments, batch size within the
// queue). Throws StartupError; what is adjusted or risky goes to `warnings`.
void finish_options(AppOptions& options, const std::vector<std::string>& passthrough, const EnvLookup& env,
                    std::vector<std::string>& warnings);
// The part of it for the local outputs (NO_COLOR, --output and the file exporter).
void finish_output_options(AppOptions& options, const EnvLookup& env);

}  // namespace bto
