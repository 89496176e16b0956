#pragma once
// Where the console and file exporters write: stdout, a file (size-based
// rotation) or a FIFO. Two promises the run depends on:
//  - a write never blocks past its writer's cancellation or deadline, whatever
//    the reader does (a pipe nobody reads, a terminal on hold), so the shutdown
//    deadline holds;
//  - every write is whole or reports why not: EPIPE (the reader went away,
//    `| head -1`) closes the output for good; other errors (ENOSPC, EIO) fail
//    that write and are remembered for the exit status.
// How: pipes, FIFOs and terminals get a non-blocking open file description of
// their own (reopened through /proc/self/fd, so the shell's stays blocking);
// sockets are written with MSG_DONTWAIT; a writer waits in poll() on the
// output and on its cancel descriptor.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace bto {

struct LocalOutputOptions {
  std::string path = "-";  // "-" = stdout
  // Rotate a regular file before a write would take it past this size (0 =
  // never). A record larger than the limit gets a file of its own.
  uint64_t max_bytes = 0;
  // Rotated files kept: PATH.1 (newest) .. PATH.<keep>; older ones are deleted.
  uint32_t keep = 5;
};

// Cancels one writer's writes (an exporter's) from any thread; an eventfd, so
// a writer waiting in poll() wakes at once.
class WriteCancel {
 public:
  WriteCancel();
  ~WriteCancel();
  WriteCancel(const WriteCancel&) = delete;
  WriteCancel& operator=(const WriteCancel&) = delete;
  void cancel() noexcept;
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
  std::atomic<bool> cancelled_{false};
};

enum class WriteStatus : uint8_t {
  kOk,
  kClosed,     // the reader went away (EPIPE), now or before
  kFailed,     // an I/O error (ENOSPC, EIO, ...): this record is lost
  kCancelled,  // the writer's WriteCancel fired
  kTimedOut,   // the deadline passed while the output accepted nothing
};

class LocalOutput {
 public:
  using Clock = std::chrono::steady_clock;

  // Opens (creates, appends to) the output. Throws StartupError when a path
  // cannot be opened; a FIFO without a reader is opened at the first write.
  static std::shared_ptr<LocalOutput> open(const LocalOutputOptions& options);
  // Writes to `fd` (not closed here) as open() writes to stdout; for tests.
  static std::shared_ptr<LocalOutput> from_fd(int fd, std::string name);

  ~LocalOutput();
  LocalOutput(const LocalOutput&) = delete;
  LocalOutput& operator=(const LocalOutput&) = delete;

  // All of `record` or a reason; writers take turns (one record never
  // interleaves with another) and a rotation never splits a record. Any thread.
  WriteStatus write(std::string_view record, const WriteCancel& cancel,
                    Clock::time_point deadline = Clock::time_point::max()) noexcept;

  const std::string& name() const noexcept { return name_; }  // "stdout" or the path
  bool is_terminal() const noexcept { return terminal_; }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  // errno of the first failed write, EPIPE aside (0: none).
  int first_error() const noexcept { return first_error_.load(std::memory_order_acquire); }
  uint64_t failed_writes() const noexcept { return failed_writes_.load(std::memory_order_relaxed); }
  uint64_t rotations() const noexcept { return rotations_.load(std::memory_order_relaxed); }

 private:
  enum class Kind : uint8_t { kRegular, kNonBlocking, kSocket, kBlockingStream, kPendingFifo };

  LocalOutput(std::string name, const LocalOutputOptions& options);
  void adopt(int fd, bool owned);
  bool lock(const WriteCancel& cancel, Clock::time_point deadline, WriteStatus& status) noexcept;
  WriteStatus write_locked(std::string_view record, const WriteCancel& cancel, Clock::time_point deadline) noexcept;
  WriteStatus write_regular(std::string_view record) noexcept;
  WriteStatus write_stream(std::string_view record, const WriteCancel& cancel, Clock::time_point deadline) noexcept;
  WriteStatus open_pending_fifo(const WriteCancel& cancel, Clock::time_point deadline) noexcept;
  WriteStatus wait_writable(const WriteCancel& cancel, Clock::time_point deadline) noexcept;
  WriteStatus fail(int error) noexcept;
  bool rotate() noexcept;

  std::string name_;
  LocalOutputOptions options_;
  std::timed_mutex mutex_;
  int fd_ = -1;
  bool owned_ = false;
  bool terminal_ = false;
  Kind kind_ = Kind::kRegular;
  uint64_t file_size_ = 0;  // regular files: where the next record starts
  std::atomic<bool> closed_{false};
  std::atomic<int> first_error_{0};
  std::atomic<uint64_t> failed_writes_{0};
  std::atomic<uint64_t> rotations_{0};
};

const char* to_string(WriteStatus status) noexcept;

}  // namespace bto
