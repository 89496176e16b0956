#include "config/config_file.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>

#include "common/errors.h"
#include "common/log.h"
#include "config/family_parser.h"

namespace bto {

std::string file_section(const Setting& setting) {
  if (setting.group == "Spans") return "spans";
  if (setting.group == "Output") return "output";
  if (setting.group == "Batching") return "batch";
  if (setting.group == "OTLP export") return "otlp";
  if (setting.group == "Live tracing") return "live";
  if (setting.group == "Metrics") return "metrics";
  if (setting.group == "Resources") return "resource";
  return "";
}

std::string file_key(const Setting& setting) {
  const std::string section = file_section(setting);
  return section.empty() ? setting.key : section + "." + setting.key;
}

namespace {

std::string where(const std::string& path, const toml::node& node) {
  return fmt::format("file {}:{}", path, node.source().begin.line);
}

// Scalars become the text a flag would carry, so one parser serves both.
std::optional<std::string> scalar_text(const toml::node& node) {
  if (auto v = node.as_string()) return v->get();
  if (auto v = node.as_integer()) return std::to_string(v->get());
  if (auto v = node.as_boolean()) return std::string(v->get() ? "true" : "false");
  if (auto v = node.as_floating_point()) return fmt::format("{}", v->get());
  return std::nullopt;
}

}  // namespace

namespace {

// The whole file, bounded; what toml::parse_file would do silently wrong
// (a directory or /dev/zero read as an empty file) or refuse (a FIFO) is
// decided here.
std::string read_config_text(const std::string& path, bool& world_readable) {
  const auto fail = [&path](const std::string& why) {
    throw StartupError(fmt::format("config file {}: {}", quote_bytes(path, 200), why));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(S_ISDIR(st.st_mode) ? "is a directory, not a file" : std::string("cannot stat: ") + std::strerror(errno));
  }
  world_readable = S_ISREG(st.st_mode) && (st.st_mode & S_IROTH) != 0;
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      fail(fmt::format("cannot read: {}", std::strerror(error)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) {
      ::close(fd);
      fail(fmt::format("larger than {} bytes: not a config file", kMaxConfigFileBytes));
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

ConfigFile read_config_file(const std::string& path, const std::vector<Setting>& settings) {
  ConfigFile file;
  const std::string text = read_config_text(path, file.world_readable);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    throw StartupError(fmt::format("config file {}:{}:{}: {}", path, begin.line, begin.column,
                                   error.description()));
  }
  std::map<std::string, const Setting*> by_file_key;
  for (const Setting& setting : settings) by_file_key[file_key(setting)] = &setting;

  const auto take = [&](const std::string& key, const toml::node& node) {
    const auto it = by_file_key.find(key);
    if (it == by_file_key.end()) {
      throw StartupError(fmt::format("{}: unknown setting '{}' (see --print-config for the names)",
                                     where(path, node), key));
    }
    const auto text = scalar_text(node);
    if (!text) {
      throw StartupError(fmt::format("{}: '{}' must be a string, number or boolean",
                                     where(path, node), key));
    }
    file.values[it->second->key] = {*text, where(path, node)};
  };
  for (const auto& [name, node] : root) {
    const std::string key(name.str());
    if (key == "family") {
      file.families = parse_families(node, path);
    } else if (const toml::table* table = node.as_table()) {
      for (const auto& [inner_name, inner] : *table) {
        take(key + "." + std::string(inner_name.str()), inner);
      }
    } else {
      take(key, node);
    }
  }
  return file;
}

}  // namespace bto
