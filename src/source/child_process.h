#pragma once
// A child process started by argv (fork/exec, never a shell), with its stdout
// and stderr on non-blocking pipes. The child gets its own process group (so a
// terminal Ctrl-C reaches us, and we stop it gracefully), /dev/null as stdin,
// default signal dispositions and an empty signal mask, and
// PR_SET_PDEATHSIG=SIGKILL so it dies if we are killed.
//
// The environment is ours minus our exporter credentials (child_environment.h).
//
// PR_SET_PDEATHSIG fires when the *thread* that forked exits, so spawn from a
// thread that outlives the child (the main thread or the reader thread).
//
// The destructor never leaves a zombie or a running child: SIGTERM, a short
// wait, then SIGKILL to the whole process group, then reap.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bto {

class ChildProcess {
 public:
  virtual ~ChildProcess() = default;

  virtual pid_t pid() const noexcept = 0;
  // Non-blocking read ends; -1 once closed with close_output().
  virtual int stdout_fd() const noexcept = 0;
  virtual int stderr_fd() const noexcept = 0;
  // Becomes readable when the child exits (a pidfd); -1 if the kernel has none,
  // then poll with a timeout and call try_wait().
  virtual int exit_fd() const noexcept = 0;
  virtual void close_output() noexcept = 0;

  // Signals the child (group = its whole process group). False if already reaped.
  virtual bool signal(int signo, bool group) noexcept = 0;
  // The raw wait status once the child has exited (reaps it), else nullopt.
  virtual std::optional<int> try_wait() noexcept = 0;
  // Waits up to `timeout` for the child to exit.
  virtual std::optional<int> wait_for(std::chrono::milliseconds timeout) noexcept = 0;
  virtual std::optional<int> exit_status() const noexcept = 0;
};

struct SpawnOptions {
  // -1: the child's stdout is the pipe read through stdout_fd(). Otherwise
  // the child's stdout is this descriptor of ours (our own stdout, a file),
  // and the pipe read through stdout_fd() is the child's descriptor 3
  // instead: `bpftrace -o /dev/fd/3 -c CMD` writes its events there while CMD
  // inherits this stdout (issue 17.3: the target's output is not the event stream).
  int stdout_passthrough = -1;
};

// Throws StartupError when the program cannot be executed (the errno of the
// failed execve is reported back through a close-on-exec pipe) or when
// pipe/fork fail. argv[0] is passed as is; `path` is what gets executed.
std::unique_ptr<ChildProcess> spawn_child(const std::string& path, const std::vector<std::string>& argv,
                                          const SpawnOptions& options = {});

// "exit code 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int wait_status);
// Exit code for a wait status: the code, or 128 + signal number.
int wait_status_code(int wait_status);

}  // namespace bto
