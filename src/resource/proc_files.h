#pragma once
// Private to resource/: reading and parsing the /proc/PID files a process
// resource is built from. The parsers are pure (text in, fields out) so the
// tests feed them every odd shape; nothing here logs what it read (environ
// and cmdline may hold secrets).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bto::proc {

// Reads at most `max_bytes` of a file with open/read (no iostreams; /proc
// files report size 0). False when it cannot be opened or read; `out` then
// holds what was read before the error (usually nothing).
bool read_file(const std::string& path, size_t max_bytes, std::string& out);

// /proc/PID/stat: "pid (comm) state ppid ... starttime ...". comm may hold
// spaces and ')', so fields are counted from the last ')'.
struct Stat {
  std::string comm;
  int64_t ppid = 0;
  uint64_t start_ticks = 0;  // field 22: clock ticks after boot
};
std::optional<Stat> parse_stat(std::string_view text);

// /proc/PID/status: the real uid and NSpid (the pid in each nested pid
// namespace, outermost first, as seen from the namespace of that /proc).
struct Status {
  std::optional<uint32_t> uid;
  std::vector<int64_t> ns_pids;
};
Status parse_status(std::string_view text);

// NUL-terminated strings (/proc/PID/cmdline, /proc/PID/environ). A missing
// final NUL is tolerated; empty strings between NULs are kept (argv may hold "").
std::vector<std::string> split_nul(std::string_view text);

// The value of NAME in /proc/PID/environ text ("NAME=value\0..."); the last
// definition wins, as getenv would not see an earlier one either.
std::optional<std::string_view> find_environ(std::string_view environ_text, std::string_view name);

// The user name of `uid` in /etc/passwd text ("name:x:uid:..."), if listed.
std::optional<std::string> passwd_name(std::string_view passwd_text, uint32_t uid);

}  // namespace bto::proc
