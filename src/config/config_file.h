#pragma once
// Optional TOML config file mirroring every setting (--config / BTO_CONFIG).
// Top-level keys for general settings, one table per group:
//   log_level = "info"
//   [spans]  max_open_spans = 100000
//   [otlp]   endpoint = "http://collector:4318/v1/traces"
//   [[family]] name = "db_query" ...   (event families, see family_config.h)
// Unknown keys and values of the wrong type fail at start, naming the line.

#include <map>
#include <string>
#include <vector>

#include "config/family_config.h"
#include "config/settings.h"

namespace bto {

struct FileValue {
  std::string text;    // the value as a flag would spell it
  std::string origin;  // "file PATH:LINE"
};

struct ConfigFile {
  std::map<std::string, FileValue> values;  // by Setting::key
  DeclaredFamilies families;                 // [[family]] tables
  bool world_readable = false;               // a regular file every user may read (mode o+r)
};

// Longest config file read; a larger one (or /dev/zero) is refused, not read forever.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// The table a setting lives in ("" = top level).
std::string file_section(const Setting& setting);
// "section.key" or "key": how the setting is written in the file.
std::string file_key(const Setting& setting);

// Throws StartupError on a syntax error, an unknown key or a non-scalar value,
// and when `path` is a directory, cannot be read, or is larger than
// kMaxConfigFileBytes. Regular files, FIFOs and <(...) are read.
ConfigFile read_config_file(const std::string& path, const std::vector<Setting>& settings);

}  // namespace bto
