#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <map>

#include "common/errors.h"
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
    origin.value = setting.secret && raw ? mask_secret(raw->value) : setting.show(loaded.options);
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
  finish_options(loaded.options, passthrough, env);
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
