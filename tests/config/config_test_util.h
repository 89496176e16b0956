#pragma once
// Helpers shared by the config tests: an injected environment and load_config
// called the way main() calls it.

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errors.h"
#include "config/app_options.h"

namespace bto::config_test {

inline EnvLookup env_of(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

// `args` without the program name.
inline LoadedConfig load_args(std::vector<std::string> args,
                              std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "bpftrace-otel");
  return load_config(args, env_of(std::move(env)));
}

// The StartupError's message, or "" when loading succeeded.
inline std::string startup_error_of(std::vector<std::string> args,
                                    std::map<std::string, std::string> env = {}) {
  try {
    load_args(std::move(args), std::move(env));
  } catch (const StartupError& error) {
    return error.what();
  }
  return "";
}

inline const SettingOrigin& origin_of(const LoadedConfig& config, const std::string& key) {
  for (const SettingOrigin& origin : config.origins) {
    if (origin.key == key) return origin;
  }
  throw std::runtime_error("no setting " + key);
}

}  // namespace bto::config_test
