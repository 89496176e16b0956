#include "app_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace bto::apptest {
namespace {

bool scrubbed(const std::string& entry) {
  static const char* const kPrefixes[] = {"OTEL_", "BTO_", "BPF_SCRIPT=", "TARGET_PID=", "EXPORTER_MODE=",
                                          "SERVICE_NAME=", "TRACER_NAME=", "BPFTRACE_PATH=", "NO_COLOR="};
  for (const char* prefix : kPrefixes) {
    if (entry.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

Process Process::start(const std::vector<std::string>& args, const ProcessIo& io) {
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

  int in_pipe[2] = {-1, -1};
  int out_pipe[2] = {-1, -1};
  if (io.stdin_fd < 0 && ::pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  if (io.stdout_fd < 0 && ::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  const int err = ::open(io.stderr_path.empty() ? "/dev/null" : io.stderr_path.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int child_in = io.stdin_fd >= 0 ? io.stdin_fd : in_pipe[0];
  const int child_out = io.stdout_fd >= 0 ? io.stdout_fd : out_pipe[1];
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(child_in, 0);
    ::dup2(child_out, 1);
    ::dup2(err, 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), env.data());
    ::_exit(127);
  }
  Process process;
  process.pid_ = pid;
  process.reaped_ = false;
  ::close(err);
  if (in_pipe[0] >= 0) ::close(in_pipe[0]);
  if (out_pipe[1] >= 0) ::close(out_pipe[1]);
  process.in = in_pipe[1];
  process.out = out_pipe[0];
  return process;
}

Process::Process(Process&& other) noexcept
    : in(other.in), out(other.out), pid_(other.pid_), reaped_(other.reaped_), code_(other.code_) {
  other.pid_ = -1;
  other.reaped_ = true;
  other.in = other.out = -1;
}

Process::~Process() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  close_in();
  close_out();
}

void Process::signal(int sig) const {
  if (!reaped_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_for(milliseconds timeout) {
  if (reaped_) return code_;
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return code_;
    }
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

void Process::close_in() {
  if (in >= 0) ::close(in);
  in = -1;
}

void Process::close_out() {
  if (out >= 0) ::close(out);
  out = -1;
}

// BTO_TEST_EXPORTER runs the tests against another build (e.g. the one before a fix).
std::string exporter_path() {
  const char* other = std::getenv("BTO_TEST_EXPORTER");
  return other != nullptr && *other != '\0' ? other : BTO_EXPORTER;
}
std::string source_path(const std::string& relative) { return std::string(BTO_SOURCE_DIR) + "/" + relative; }

long long summary_value(const std::string& stderr_text, const std::string& key) {
  const size_t summary = stderr_text.rfind("summary: ");
  if (summary == std::string::npos) return -1;
  const std::string needle = " " + key + "=";
  size_t at = stderr_text.find(needle, summary);
  if (at == std::string::npos) {
    at = stderr_text.find("(" + key + "=", summary);
    if (at == std::string::npos) return -1;
  }
  at = stderr_text.find('=', at) + 1;
  return std::atoll(stderr_text.c_str() + at);
}

}  // namespace bto::apptest
