#include "resource/proc_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace bto::proc {
namespace {

template <typename Int>
bool parse_int(std::string_view text, Int& out) noexcept {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string_view next_field(std::string_view& text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  size_t end = 0;
  while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n') ++end;
  const std::string_view field = text.substr(0, end);
  text.remove_prefix(end);
  return field;
}

std::string_view line_value(std::string_view text, std::string_view name) noexcept {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ':') {
      return line.substr(name.size() + 1);
    }
    at = end + 1;
  }
  return {};
}

}  // namespace

bool read_file(const std::string& path, size_t max_bytes, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return false;
  bool ok = true;
  char buffer[4096];
  while (out.size() < max_bytes) {
    const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, max_bytes - out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return ok;
}

std::optional<Stat> parse_stat(std::string_view text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  Stat stat;
  stat.comm.assign(text.substr(open + 1, close - open - 1));
  std::string_view rest = text.substr(close + 1);
  // Fields 3 (state) .. 22 (starttime); ppid is field 4.
  for (int field = 3; field <= 22; ++field) {
    const std::string_view value = next_field(rest);
    if (value.empty()) return std::nullopt;
    if (field == 4 && !parse_int(value, stat.ppid)) return std::nullopt;
    if (field == 22 && !parse_int(value, stat.start_ticks)) return std::nullopt;
  }
  return stat;
}

Status parse_status(std::string_view text) {
  Status status;
  std::string_view uid_line = line_value(text, "Uid");
  const std::string_view real_uid = next_field(uid_line);
  uint32_t uid = 0;
  if (parse_int(real_uid, uid)) status.uid = uid;
  std::string_view ns_line = line_value(text, "NSpid");
  for (std::string_view value = next_field(ns_line); !value.empty(); value = next_field(ns_line)) {
    int64_t pid = 0;
    if (!parse_int(value, pid)) {
      status.ns_pids.clear();
      break;
    }
    status.ns_pids.push_back(pid);
  }
  return status;
}

std::vector<std::string> split_nul(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\0'), text.size());
    parts.emplace_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return parts;
}

std::optional<std::string_view> find_environ(std::string_view environ_text, std::string_view name) {
  std::optional<std::string_view> found;
  while (!environ_text.empty()) {
    const size_t end = std::min(environ_text.find('\0'), environ_text.size());
    const std::string_view entry = environ_text.substr(0, end);
    if (entry.size() > name.size() && entry[name.size()] == '=' && entry.substr(0, name.size()) == name) {
      found = entry.substr(name.size() + 1);
    }
    environ_text.remove_prefix(std::min(end + 1, environ_text.size()));
  }
  return found;
}

std::optional<std::string> passwd_name(std::string_view passwd_text, uint32_t uid) {
  while (!passwd_text.empty()) {
    const size_t end = std::min(passwd_text.find('\n'), passwd_text.size());
    const std::string_view line = passwd_text.substr(0, end);
    passwd_text.remove_prefix(std::min(end + 1, passwd_text.size()));
    // name:password:uid:gid:gecos:home:shell
    const size_t first = line.find(':');
    if (first == std::string_view::npos || first == 0) continue;
    const size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const size_t third = std::min(line.find(':', second + 1), line.size());
    uint32_t line_uid = 0;
    if (parse_int(line.substr(second + 1, third - second - 1), line_uid) && line_uid == uid) {
      return std::string(line.substr(0, first));
    }
  }
  return std::nullopt;
}

}  // namespace bto::proc
