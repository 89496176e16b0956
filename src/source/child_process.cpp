#include "source/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "common/errors.h"
#include "source/child_environment.h"

extern char** environ;

namespace bto {
namespace {

// Grace between SIGTERM and SIGKILL when the destructor has to stop a child.
constexpr std::chrono::milliseconds kDestructorGrace{1000};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw StartupError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

[[noreturn]] void fail_in_child(int error_fd, int error) {
  // Best effort: the parent reports it; nothing else can be done here.
  [[maybe_unused]] const ssize_t ignored = ::write(error_fd, &error, sizeof error);
  ::_exit(127);
}

// Only async-signal-safe calls between fork and exec: the parent may have
// other threads holding locks (the logger, the allocator).
// Descriptor 3 of a child spawned with a stdout passthrough: the event pipe.
constexpr int kEventsFd = 3;

[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp, pid_t parent, int stdout_fd,
                             int stderr_fd, int error_fd, int passthrough_fd) {
  auto fail = [error_fd](int error) { fail_in_child(error_fd, error); };
  if (::setpgid(0, 0) != 0) fail(errno);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(errno);
  // The parent died between fork and prctl: nobody would reap or stop us.
  if (::getppid() != parent) ::_exit(127);

  // Ignored signals and the blocked mask survive exec; bpftrace must see
  // SIGINT/SIGTERM normally even if our process blocks them for a signalfd.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int signo = 1; signo < NSIG; ++signo) {
    if (signo == SIGKILL || signo == SIGSTOP) continue;
    ::sigaction(signo, &dfl, nullptr);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) fail(errno);
  if (::dup2(null_fd, STDIN_FILENO) < 0) fail(errno);
  unsigned first_closed = 3;
  if (passthrough_fd >= 0) {
    // Stdout is the passthrough; the event pipe moves to 3 (dup2 clears
    // close-on-exec there). In that order: the passthrough may itself be 3,
    // while the pipe's write end, made after it, is above 3 (its read end
    // took the lowest free descriptor).
    if (::dup2(passthrough_fd, STDOUT_FILENO) < 0) fail(errno);
    if (::dup2(stdout_fd, kEventsFd) < 0) fail(errno);
    first_closed = kEventsFd + 1;
  } else if (::dup2(stdout_fd, STDOUT_FILENO) < 0) {
    fail(errno);
  }
  if (::dup2(stderr_fd, STDERR_FILENO) < 0) fail(errno);
  // Descriptors the application opened without O_CLOEXEC must not leak into
  // bpftrace (a leaked socket or pipe end keeps peers from seeing EOF).
  ::syscall(SYS_close_range, first_closed, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
  ::execve(path, argv, envp);
  fail_in_child(error_fd, errno);
}

class ChildProcessImpl final : public ChildProcess {
 public:
  ChildProcessImpl(pid_t pid, UniqueFd out, UniqueFd err, UniqueFd exit_fd)
      : pid_(pid), out_(std::move(out)), err_(std::move(err)), exit_fd_(std::move(exit_fd)) {}

  ~ChildProcessImpl() override {
    close_output();
    if (status_) return;
    signal(SIGTERM, /*group=*/false);
    if (!wait_for(kDestructorGrace)) {
      signal(SIGKILL, /*group=*/true);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  pid_t pid() const noexcept override { return pid_; }
  int stdout_fd() const noexcept override { return out_.get(); }
  int stderr_fd() const noexcept override { return err_.get(); }
  int exit_fd() const noexcept override { return exit_fd_.get(); }
  void close_output() noexcept override {
    out_.reset();
    err_.reset();
  }

  bool signal(int signo, bool group) noexcept override {
    if (status_) {
      // The group may outlive its leader (bpftrace -c CMD): still reachable.
      return group && ::kill(-pid_, signo) == 0;
    }
    return ::kill(group ? -pid_ : pid_, signo) == 0;
  }

  std::optional<int> try_wait() noexcept override {
    if (status_) return status_;
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_) {
      status_ = status;
      exit_fd_.reset();
    } else if (r < 0 && errno == ECHILD) {
      // SIGCHLD set to SIG_IGN makes the kernel reap children itself: the
      // child is gone and its status lost. Report a failure, never hang.
      status_ = 255 << 8;
      exit_fd_.reset();
    }
    return status_;
  }

  std::optional<int> wait_for(std::chrono::milliseconds timeout) noexcept override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!try_wait()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      if (exit_fd_.get() >= 0) {
        pollfd p{exit_fd_.get(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
      } else {
        std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(10)));
      }
    }
    return status_;
  }

  std::optional<int> exit_status() const noexcept override { return status_; }

 private:
  pid_t pid_;
  UniqueFd out_;
  UniqueFd err_;
  UniqueFd exit_fd_;
  std::optional<int> status_;
};

}  // namespace

std::unique_ptr<ChildProcess> spawn_child(const std::string& path, const std::vector<std::string>& argv,
                                          const SpawnOptions& options) {
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  Pipe exec_error = make_pipe();

  // Built before fork: the child may not allocate.
  std::vector<char*> raw_argv;
  raw_argv.reserve(argv.size() + 1);
  for (const auto& arg : argv) raw_argv.push_back(const_cast<char*>(arg.c_str()));
  raw_argv.push_back(nullptr);
  std::vector<std::string> environment = child_environment(environ);
  std::vector<char*> raw_env;
  raw_env.reserve(environment.size() + 1);
  for (auto& entry : environment) raw_env.push_back(entry.data());
  raw_env.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw StartupError(fmt::format("cannot fork to start {}: {}", path, std::strerror(errno)));
  if (pid == 0) {
    exec_child(path.c_str(), raw_argv.data(), raw_env.data(), parent, out.write.get(), err.write.get(),
               exec_error.write.get(), options.stdout_passthrough);
  }
  // Also set it from the parent: whoever runs first, the group exists before
  // we might signal it.
  ::setpgid(pid, pid);
  out.write.reset();
  err.write.reset();
  exec_error.write.reset();

  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_error.read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw StartupError(fmt::format("cannot execute {}: {}", path, std::strerror(child_errno)));
  }

  set_nonblocking(out.read.get());
  set_nonblocking(err.read.get());
  UniqueFd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return std::make_unique<ChildProcessImpl>(pid, std::move(out.read), std::move(err.read), std::move(exit_fd));
}

std::string describe_wait_status(int wait_status) {
  if (WIFEXITED(wait_status)) return fmt::format("exit code {}", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int signo = WTERMSIG(wait_status);
    const char* name = ::strsignal(signo);
    return fmt::format("killed by signal {} ({})", signo, name != nullptr ? name : "?");
  }
  return fmt::format("wait status {:#x}", wait_status);
}

int wait_status_code(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

}  // namespace bto
