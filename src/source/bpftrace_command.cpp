#include "source/bpftrace_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/redact.h"

namespace bto {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// bpftrace splits -c's command at each space (no quoting).
std::vector<std::string> split_at_spaces(std::string_view text) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) words.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

}  // namespace

std::string describe_command(std::string_view command) { return redact_command_line(split_at_spaces(command)); }

std::string describe_bpftrace_argv(const std::vector<std::string>& argv) {
  std::vector<std::string> shown = redact_command_args(argv);
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i - 1] == "-c") shown[i] = describe_command(argv[i]);
  }
  std::string line;
  for (const std::string& arg : shown) {
    if (!line.empty()) line.push_back(' ');
    line += arg;
  }
  return line;
}

std::optional<std::string> find_executable(std::string_view name, std::string_view path_env) {
  if (name.empty()) return std::nullopt;
  if (contains(name, "/")) {
    std::string path(name);
    if (is_executable_file(path)) return path;
    return std::nullopt;
  }
  size_t begin = 0;
  while (begin <= path_env.size()) {
    size_t end = path_env.find(':', begin);
    if (end == std::string_view::npos) end = path_env.size();
    std::string_view dir = path_env.substr(begin, end - begin);
    if (dir.empty()) dir = ".";  // POSIX: an empty entry is the current directory
    std::string candidate = fmt::format("{}/{}", dir, name);
    if (is_executable_file(candidate)) return candidate;
    begin = end + 1;
  }
  return std::nullopt;
}

std::vector<std::string> build_bpftrace_argv(const SourceOptions& options, const std::string& bpftrace_path) {
  std::vector<std::string> argv{bpftrace_path, "-f", "json",
                                // bpftrace's JSON output already ends each record with
                                // std::endl (one write per event); "line" keeps it so
                                // and "none" would split records into several writes.
                                "-B", "line"};
  if (options.mode == "native-usdt" && options.target_pid == 0 && options.command.empty()) {
    argv.emplace_back("--usdt-file-activation");
  }
  if (options.target_pid != 0) {
    argv.emplace_back("-p");
    argv.push_back(std::to_string(options.target_pid));
  }
  if (!options.command.empty()) {
    // The command inherits bpftrace's stdout: events must not share it.
    argv.emplace_back("-o");
    argv.emplace_back(kEventsPath);
    argv.emplace_back("-c");
    argv.push_back(options.command);
  }
  if (!options.program_text.empty()) {
    argv.emplace_back("-e");
    argv.push_back(options.program_text);
  } else {
    argv.push_back(options.script_path);
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}

}  // namespace bto
