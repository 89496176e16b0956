#include "resource/process_info.h"

#include <unistd.h>

#include <climits>

#include "resource/proc_files.h"

namespace bto {
namespace {

// Bounds on what one process may make us read: argv and the environment can
// be megabytes (ARG_MAX); names are cut to the attribute value limit later.
constexpr size_t kMaxSmallFile = 64 * 1024;
constexpr size_t kMaxCmdline = 16 * 1024;  // a resource keeps these bytes as long as its process lives
constexpr size_t kMaxEnviron = 1024 * 1024;
constexpr size_t kMaxPasswd = 1024 * 1024;
constexpr std::string_view kDeleted = " (deleted)";

}  // namespace

ProcessInfo read_process_info(const std::string& proc_root, int64_t pid) {
  ProcessInfo info;
  info.pid = pid;
  const std::string dir = proc_root + "/" + std::to_string(pid);
  std::string text;
  if (!proc::read_file(dir + "/stat", kMaxSmallFile, text)) return info;
  const std::optional<proc::Stat> stat = proc::parse_stat(text);
  if (!stat) return info;
  info.found = true;
  info.start_ticks = stat->start_ticks;
  info.parent_pid = stat->ppid;
  info.comm = stat->comm;

  char exe[PATH_MAX];
  const ssize_t n = ::readlink((dir + "/exe").c_str(), exe, sizeof exe);
  if (n > 0 && static_cast<size_t>(n) < sizeof exe) {
    std::string_view path(exe, static_cast<size_t>(n));
    if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted) {
      path.remove_suffix(kDeleted.size());
    }
    info.executable_path.assign(path);
  }

  if (proc::read_file(dir + "/cmdline", kMaxCmdline, text)) info.args = proc::split_nul(text);

  if (proc::read_file(dir + "/status", kMaxSmallFile, text)) {
    const proc::Status status = proc::parse_status(text);
    info.uid = status.uid;
    if (status.ns_pids.size() > 1 && status.ns_pids.back() != pid) info.namespace_pid = status.ns_pids.back();
  }
  if (info.uid && proc::read_file(dir + "/root/etc/passwd", kMaxPasswd, text)) {
    if (auto name = proc::passwd_name(text, *info.uid)) info.owner = std::move(*name);
  }

  if (proc::read_file(dir + "/environ", kMaxEnviron, text)) {
    info.environ_readable = true;
    if (auto value = proc::find_environ(text, "OTEL_SERVICE_NAME")) info.env_service_name.emplace(*value);
    if (auto value = proc::find_environ(text, "OTEL_RESOURCE_ATTRIBUTES")) {
      info.env_resource_attributes.emplace(*value);
    }
  }
  // The environment may hold secrets: the copy goes away now, not at the next read.
  std::fill(text.begin(), text.end(), '\0');

  if (proc::read_file(dir + "/cgroup", kMaxSmallFile, text)) info.container = parse_cgroup_file(text);
  // The process may have exited, and its pid gone to another, while we read.
  info.consistent = read_start_ticks(proc_root, pid) == info.start_ticks;
  return info;
}

std::optional<uint64_t> read_start_ticks(const std::string& proc_root, int64_t pid) {
  std::string text;
  if (!proc::read_file(proc_root + "/" + std::to_string(pid) + "/stat", kMaxSmallFile, text)) return std::nullopt;
  const std::optional<proc::Stat> stat = proc::parse_stat(text);
  if (!stat) return std::nullopt;
  return stat->start_ticks;
}

}  // namespace bto
