#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <map>

#include "common/errors.h"
#include "common/log.h"
#include "common/version.h"
#include "config/app_options.h"
#include "config/config_file.h"
#include "config/settings.h"

namespace bto {

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

namespace {

struct RawValue {
  std::string value;
  std::string source;
};

// Registers every setting's flag with CLI11, storing raw text by key.
void add_flags(CLI::App& cli, const std::vector<Setting>& settings,
               std::map<std::string, std::string>& flag_values,
               std::map<std::string, bool>& switch_values) {
  for (const Setting& setting : settings) {
    if (setting.flag.empty()) continue;
    std::string description = setting.help;
    const std::string default_text = setting.show(AppOptions{});
    if (!default_text.empty() && !setting.is_switch) description += " (default: " + default_text + ")";
    if (!setting.env.empty()) {
      description += " [env:";
      for (size_t i = 0; i < setting.env.size(); ++i) {
        description += (i == 0 ? " " : ", ") + setting.env[i];
      }
      description += "]";
    }
    if (setting.is_switch) {
      cli.add_flag(setting.flag, switch_values[setting.key], description)->group(setting.group);
    } else {
      cli.add_option(setting.flag, flag_values[setting.key], description)
          ->group(setting.group)
          ->type_name(setting.value_name.empty() ? "TEXT" : setting.value_name);
    }
  }
}

std::optional<RawValue> find_raw(const Setting& setting, const CLI::App& cli,
                                 const std::map<std::string, std::string>& flag_values,
                                 const std::map<std::string, bool>& switch_values,
                                 const EnvLookup& env, const ConfigFile& file) {
  if (!setting.flag.empty()) {
    const std::string first_name = setting.flag.substr(setting.flag.rfind(',') + 1);
    if (cli.count(first_name) > 0) {
      if (setting.is_switch) {
        return RawValue{switch_values.at(setting.key) ? "true" : "false", "flag " + first_name};
      }
      return RawValue{flag_values.at(setting.key), "flag " + first_name};
    }
  }
  for (const std::string& name : setting.env) {
    if (auto value = env(name); value && !value->empty()) {
      return RawValue{*value, "env " + name};
    }
  }
  if (const auto it = file.values.find(setting.key); it != file.values.end()) {
    return RawValue{it->second.text, it->second.origin};
  }
  return std::nullopt;
}

// Credentials where others can read them, or where a library would log them.
void warn_about_exposed_secrets(LoadedConfig& loaded, const ConfigFile& file, const std::string& config_path,
                                const EnvLookup& env) {
  std::string headers_source;
  for (const SettingOrigin& origin : loaded.origins) {
    if (origin.key == "otlp.headers") headers_source = origin.source;
  }
  if (headers_source.starts_with("flag")) {
    loaded.warnings.push_back(
        "OTLP headers given with --headers are visible to every user of this machine (ps, /proc/PID/cmdline): "
        "pass them in OTEL_EXPORTER_OTLP_HEADERS or in a config file only its owner can read");
  }
  if (headers_source.starts_with("file") && file.world_readable) {
    loaded.warnings.push_back(fmt::format(
        "config file {} holds OTLP headers (credentials) and every user may read it: chmod o-r {}",
        quote_bytes(config_path, 200), quote_bytes(config_path, 200)));
  }
  const auto grpc_trace = env("GRPC_TRACE");
  if (!loaded.options.otlp.headers.empty() && grpc_trace && !grpc_trace->empty()) {
    // gRPC's tracers (http, all, ...) print request metadata, our headers included.
    loaded.unset_environment.push_back("GRPC_TRACE");
    loaded.warnings.push_back(
        "GRPC_TRACE ignored: gRPC's tracers log request metadata, which holds the OTLP headers (credentials); "
        "to trace gRPC, run without headers (e.g. against a test collector)");
  }
}

}  // namespace

LoadedConfig load_config(const std::vector<std::string>& args, const EnvLookup& env) {
  LoadedConfig loaded;
  const std::vector<Setting>& settings = all_settings();

  CLI::App cli{fmt::format("{} {}: runs a bpftrace script against a process and exports the "
                           "spans its events describe as OpenTelemetry traces (OTLP).",
                           kProgramName, kVersion),
               kProgramName};
  cli.set_version_flag("--version", fmt::format("{} {}", kProgramName, kVersion));
  cli.add_flag("--print-config", loaded.print_config,
               "Print the effective configuration (secrets masked) and where each value came "
               "from, then exit")
      ->group("General");
  std::string config_path;
  cli.add_option("--config", config_path,
                 "TOML file with any of the settings below (flags and environment win over it) "
                 "[env: BTO_CONFIG]")
      ->group("General")
      ->type_name("PATH");
  std::vector<std::string> passthrough;
  cli.add_option("bpftrace-args", passthrough, "Extra bpftrace arguments, after --")
      ->group("Live tracing");
  cli.footer(settings_footer());

  std::map<std::string, std::string> flag_values;
  std::map<std::string, bool> switch_values;
  add_flags(cli, settings, flag_values, switch_values);

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  if (!reversed.empty()) reversed.pop_back();  // program name
  try {
    cli.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    loaded.exit_early = true;
    loaded.early_output = cli.help();
    return loaded;
  } catch (const CLI::CallForVersion&) {
    loaded.exit_early = true;
    loaded.early_output = cli.version() + "\n";
    return loaded;
  } catch (const CLI::ParseError& error) {
    throw StartupError(fmt::format("{} (see --help)", error.what()));
  }

  if (config_path.empty()) config_path = env("BTO_CONFIG").value_or("");
  const ConfigFile file =
      config_path.empty() ? ConfigFile{} : read_config_file(config_path, settings);

  for (const Setting& setting : settings) {
    const auto raw = find_raw(setting, cli, flag_values, switch_values, env, file);
    if (raw) {
      setting.apply(loaded.options, raw->value, raw->source);
    }
    SettingOrigin origin;
    origin.key = file_key(setting);
    // A secret shows what its own `show` reveals (header names) or a mask, never its length.
    origin.value = setting.show(loaded.options);
    if (setting.secret && raw && origin.value.empty()) origin.value = mask_secret(raw->value);
    origin.source = raw ? raw->source : "default";
    loaded.origins.push_back(std::move(origin));
  }
  loaded.options.families = file.families;
  loaded.options.metrics.derived.insert(loaded.options.metrics.derived.end(), file.families.metrics.begin(),
                                        file.families.metrics.end());
  for (size_t i = 0; i < file.families.specs.size(); ++i) {
    const FamilySpec& spec = file.families.specs[i];
    loaded.origins.push_back({"family." + spec.name,
                              spec.span_name.empty() ? "(declared)" : "span_name \"" + spec.span_name + "\"",
                              file.families.origins[i]});
  }
  finish_options(loaded.options, passthrough, env, loaded.warnings);
  warn_about_exposed_secrets(loaded, file, config_path, env);
  return loaded;
}

std::string format_config(const LoadedConfig& config) {
  std::string out;
  size_t width = 0;
  for (const SettingOrigin& origin : config.origins) width = std::max(width, origin.key.size());
  for (const SettingOrigin& origin : config.origins) {
    out += fmt::format("{:<{}} = {:<40} # {}\n", origin.key, width, origin.value, origin.source);
  }
  return out;
}

}  // namespace bto
