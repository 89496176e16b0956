#pragma once
// Runs the bpftrace-otel binary for the app tests: argv (never a shell), its
// stdin and stdout as pipes the test holds or as given descriptors, stderr to
// a file. Killed and reaped by the destructor, so a failed assertion never
// leaks a process.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "support/text_file.h"

namespace bto::apptest {

using std::chrono::milliseconds;

struct ProcessIo {
  int stdin_fd = -1;   // given to the child as is; -1: a pipe (the test writes `Process::in`)
  int stdout_fd = -1;  // given to the child as is; -1: a pipe (the test reads `Process::out`)
  std::string stderr_path;
};

class Process {
 public:
  static Process start(const std::vector<std::string>& argv, const ProcessIo& io);
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // The exit code (128 + signal for a signal death), or nullopt on timeout.
  std::optional<int> wait_for(milliseconds timeout);
  void close_in();
  void close_out();

  int in = -1;   // write end of the child's stdin pipe
  int out = -1;  // read end of the child's stdout pipe

 private:
  Process() = default;
  pid_t pid_ = -1;
  bool reaped_ = true;
  int code_ = -1;
};

std::string exporter_path();
std::string source_path(const std::string& relative);
using testing::count_of;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

// The value of `key=` in bpftrace-otel's summary line (stderr), or -1.
long long summary_value(const std::string& stderr_text, const std::string& key);

}  // namespace bto::apptest
