#pragma once
// Private to resource/: everything a process resource says about one
// process, read once from <proc>/PID (stat, status, exe, cmdline, environ,
// cgroup) and the process's own /etc/passwd (<proc>/PID/root/etc/passwd, so a
// container's users are named as in the container).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "resource/cgroup.h"

namespace bto {

struct ProcessInfo {
  int64_t pid = 0;
  bool found = false;         // <proc>/PID/stat was readable: the process exists
  bool consistent = false;    // still the same process (start time) after every file was read
  uint64_t start_ticks = 0;   // identifies this process among all that had this pid
  int64_t parent_pid = 0;
  std::string comm;
  std::string executable_path;  // readlink of exe, " (deleted)" removed; empty if denied
  std::vector<std::string> args;  // cmdline as read (redact before exporting)
  std::optional<uint32_t> uid;
  std::string owner;            // user name, or empty when not listed
  int64_t namespace_pid = 0;    // the pid inside its own pid namespace, when that differs
  // From the process's environment (the one it was started with):
  std::optional<std::string> env_service_name;         // OTEL_SERVICE_NAME
  std::optional<std::string> env_resource_attributes;  // OTEL_RESOURCE_ATTRIBUTES
  bool environ_readable = false;
  ContainerInfo container;
};

// `proc_root` is "/proc" (or the host's /proc mounted elsewhere). Never
// fails: what cannot be read stays empty.
ProcessInfo read_process_info(const std::string& proc_root, int64_t pid);

// Only <proc>/PID/stat's start time: is `pid` still the process we read?
// Empty when the process is gone.
std::optional<uint64_t> read_start_ticks(const std::string& proc_root, int64_t pid);

}  // namespace bto
