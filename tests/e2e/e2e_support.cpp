#include "e2e_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <simdjson.h>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace bto::e2e {
namespace {

bool scrubbed(const std::string& entry) {
  static const char* const kPrefixes[] = {"OTEL_",        "BTO_",          "BPF_SCRIPT=",
                                          "TARGET_PID=",  "EXPORTER_MODE=", "SERVICE_NAME=",
                                          "TRACER_NAME=", "BPFTRACE_PATH="};
  for (const char* prefix : kPrefixes) {
    if (entry.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

int open_or_null(const std::string& path, int flags) {
  if (path.empty()) return ::open("/dev/null", O_RDWR | O_CLOEXEC);
  return ::open(path.c_str(), flags | O_CLOEXEC, 0644);
}

}  // namespace

Child Child::spawn(const std::vector<std::string>& args, const std::string& stdout_path,
                   const std::string& stderr_path) {
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!scrubbed(*e)) env_strings.emplace_back(*e);
  }
  std::vector<char*> env;
  for (auto& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  std::vector<std::string> arg_strings = args;
  std::vector<char*> argv;
  for (auto& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  const int in_fd = open_or_null("", 0);
  const int out_fd = open_or_null(stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
  const int err_fd = open_or_null(stderr_path, O_WRONLY | O_CREAT | O_TRUNC);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) throw std::runtime_error("cannot open child's files");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), env.data());
    ::_exit(127);
  }
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  Child child;
  child.pid_ = pid;
  child.reaped_ = false;
  return child;
}

Child::~Child() { terminate(); }

Child::Child(Child&& other) noexcept
    : pid_(other.pid_), reaped_(other.reaped_), exit_code_(other.exit_code_) {
  other.pid_ = -1;
  other.reaped_ = true;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    terminate();
    pid_ = other.pid_;
    reaped_ = other.reaped_;
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
    other.reaped_ = true;
  }
  return *this;
}

void Child::terminate() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_for(milliseconds(3000))) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reap(status);
  }
}

void Child::reap(int status) {
  reaped_ = true;
  if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_code_ = 128 + WTERMSIG(status);
  }
}

bool Child::running() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reap(status);
    return false;
  }
  return true;
}

void Child::signal(int sig) const {
  if (!reaped_ && pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> Child::wait_for(milliseconds timeout) {
  if (reaped_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reap(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

bool wait_for_text(const std::string& path, const std::string& needle, milliseconds timeout,
                   size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (count_of(read_file(path), needle) >= count) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

std::vector<Record> read_records(const std::string& path) {
  std::vector<Record> out;
  simdjson::dom::parser parser;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    simdjson::dom::object o = parser.parse(line).get_object().value();
    Record r;
    r.seq = o["seq"].get_uint64().value();
    r.route = std::string(o["route"].get_string().value());
    r.method = std::string(o["method"].get_string().value());
    r.uri = std::string(o["uri"].get_string().value());
    r.status = static_cast<int>(o["status"].get_int64().value());
    r.latency_ns = o["latency_ns"].get_int64().value();
    r.start_unix_ns = o["start_unix_ns"].get_int64().value();
    std::string_view traceparent;
    if (o["traceparent"].get_string().get(traceparent) == simdjson::SUCCESS) {
      r.traceparent = std::string(traceparent);
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::map<std::string, uint64_t> parse_summary(const std::string& text) {
  std::map<std::string, uint64_t> out;
  const size_t at = text.rfind("summary: ");
  if (at == std::string::npos) return out;
  const std::string line = text.substr(at, text.find('\n', at) - at);
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    while (!word.empty() && (word.front() == '(')) word.erase(word.begin());
    while (!word.empty() && (word.back() == ')')) word.pop_back();
    const size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    try {
      out[word.substr(0, eq)] = std::stoull(word.substr(eq + 1));
    } catch (const std::exception&) {
    }
  }
  return out;
}

std::vector<int> listening_ports(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir, ec)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::vector<int> ports;
  std::istringstream lines(read_file("/proc/" + std::to_string(pid) + "/net/tcp"));
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
    if (state != "0A" || inodes.count(inode) == 0) continue;
    ports.push_back(static_cast<int>(std::stoul(local.substr(local.find(':') + 1), nullptr, 16)));
  }
  return ports;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(task_dir, ec)) {
    std::istringstream ids(read_file(task.path().string() + "/children"));
    pid_t child = 0;
    while (ids >> child) out.push_back(child);
  }
  return out;
}

const BpftraceVersionOnPath& bpftrace_version_on_path() {
  static const BpftraceVersionOnPath version = [] {
    BpftraceVersionOnPath v;
    std::string bpftrace;
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string dir; bpftrace.empty() && std::getline(dirs, dir, ':');) {
      if (!dir.empty() && ::access((dir + "/bpftrace").c_str(), X_OK) == 0) bpftrace = dir + "/bpftrace";
    }
    if (bpftrace.empty()) return v;
    TempDir tmp;
    Child child = Child::spawn({bpftrace, "--version"}, tmp.file("out"), "");
    child.wait_for(std::chrono::seconds(20));
    const std::string text = read_file(tmp.file("out"));  // "bpftrace v0.23.2"
    const size_t at = text.find(" v");
    if (at == std::string::npos) return v;
    std::istringstream numbers(text.substr(at + 2));
    char dot = 0;
    numbers >> v.major >> dot >> v.minor;
    v.text = text.substr(at + 2, text.find_first_of(" \n", at + 2) - at - 2);
    return v;
  }();
  return version;
}

std::string missing_prerequisite() {
  if (::geteuid() != 0) return "the end-to-end tests need root (bpftrace attaches probes)";
  bool found = false;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/bpftrace").c_str(), X_OK) == 0) found = true;
  }
  if (!found) return "bpftrace is not installed (apt-get install bpftrace)";
  struct stat st {};
  if (::stat("/sys/kernel/tracing/events", &st) != 0 &&
      ::stat("/sys/kernel/debug/tracing/events", &st) != 0) {
    // CI containers often lack it; mounting is what a user would be told to do.
    ::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr);
    if (::stat("/sys/kernel/tracing/events", &st) != 0) {
      return "tracefs is not mounted and cannot be (mount -t tracefs nodev /sys/kernel/tracing)";
    }
  }
  return "";
}

}  // namespace bto::e2e
