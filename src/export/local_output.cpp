#include "export/local_output.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/errors.h"
#include "common/log.h"

namespace bto {
namespace {

using Clock = LocalOutput::Clock;
using std::chrono::milliseconds;

constexpr int kOpenFlags = O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
constexpr milliseconds kLockSlice{20};
constexpr milliseconds kFifoRetry{50};

// poll() timeout until `deadline`, rounded up; -1 = none.
int poll_timeout(Clock::time_point deadline, milliseconds cap = milliseconds::max()) noexcept {
  if (deadline == Clock::time_point::max() && cap == milliseconds::max()) return -1;
  const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
  const auto wait = std::clamp(left, milliseconds(0), cap);
  return static_cast<int>(std::min<int64_t>(wait.count(), INT_MAX));
}

}  // namespace

WriteCancel::WriteCancel() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

WriteCancel::~WriteCancel() {
  if (fd_ >= 0) ::close(fd_);
}

void WriteCancel::cancel() noexcept {
  cancelled_.store(true, std::memory_order_release);
  if (fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd_, &one, sizeof one);
  }
}

LocalOutput::LocalOutput(std::string name, const LocalOutputOptions& options)
    : name_(std::move(name)), options_(options) {}

LocalOutput::~LocalOutput() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void LocalOutput::adopt(int fd, bool owned) {
  fd_ = fd;
  owned_ = owned;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    kind_ = Kind::kRegular;  // writes will report the error
    return;
  }
  terminal_ = ::isatty(fd) == 1;
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
    kind_ = Kind::kRegular;
    const off_t position = ::lseek(fd, 0, SEEK_CUR);
    file_size_ = static_cast<uint64_t>(std::max<off_t>(position, st.st_size));
  } else if (S_ISSOCK(st.st_mode)) {
    kind_ = Kind::kSocket;
  } else {
    const int flags = ::fcntl(fd, F_GETFL);
    kind_ = flags >= 0 && (flags & O_NONBLOCK) ? Kind::kNonBlocking : Kind::kBlockingStream;
  }
}

std::shared_ptr<LocalOutput> LocalOutput::from_fd(int fd, std::string name) {
  std::shared_ptr<LocalOutput> output(new LocalOutput(std::move(name), LocalOutputOptions{}));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
    // Our own open file description, non-blocking; whoever else shares `fd`
    // (the shell, for a terminal) keeps a blocking one.
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    const int reopened = ::open(self.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (reopened >= 0) {
      output->adopt(reopened, true);
      return output;
    }
    if (errno == ENXIO) {  // a pipe whose reader has already gone
      output->adopt(fd, false);
      output->closed_.store(true);
      return output;
    }
  }
  output->adopt(fd, false);  // regular file, socket, or no /proc: poll + PIPE_BUF-sized writes
  return output;
}

std::shared_ptr<LocalOutput> LocalOutput::open(const LocalOutputOptions& options) {
  if (options.path.empty() || options.path == "-") return from_fd(STDOUT_FILENO, "stdout");
  std::shared_ptr<LocalOutput> output(new LocalOutput(options.path, options));
  const int fd = ::open(options.path.c_str(), kOpenFlags, 0644);
  if (fd < 0) {
    if (errno == ENXIO) {  // a FIFO nobody reads yet: opened by the first write
      output->kind_ = Kind::kPendingFifo;
      return output;
    }
    throw StartupError("cannot open output " + options.path + ": " + std::strerror(errno));
  }
  output->adopt(fd, true);
  return output;
}

bool LocalOutput::lock(const WriteCancel& cancel, Clock::time_point deadline, WriteStatus& status) noexcept {
  // Another writer may be waiting on a stalled reader: wait for our turn in
  // slices, so our own cancel and deadline still work.
  for (;;) {
    if (cancel.cancelled()) {
      status = WriteStatus::kCancelled;
      return false;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      status = WriteStatus::kTimedOut;
      return false;
    }
    const auto slice = deadline - now < kLockSlice ? deadline - now : Clock::duration(kLockSlice);
    if (mutex_.try_lock_for(slice)) return true;
  }
}

WriteStatus LocalOutput::write(std::string_view record, const WriteCancel& cancel,
                               Clock::time_point deadline) noexcept {
  if (closed()) return WriteStatus::kClosed;
  WriteStatus status = WriteStatus::kOk;
  if (!lock(cancel, deadline, status)) return status;
  std::lock_guard guard(mutex_, std::adopt_lock);
  return write_locked(record, cancel, deadline);
}

WriteStatus LocalOutput::write_locked(std::string_view record, const WriteCancel& cancel,
                                      Clock::time_point deadline) noexcept {
  if (closed()) return WriteStatus::kClosed;
  if (kind_ == Kind::kPendingFifo) {
    if (const WriteStatus status = open_pending_fifo(cancel, deadline); status != WriteStatus::kOk) return status;
  }
  if (kind_ == Kind::kRegular) return write_regular(record);
  return write_stream(record, cancel, deadline);
}

WriteStatus LocalOutput::write_regular(std::string_view record) noexcept {
  if (options_.max_bytes != 0 && owned_ && file_size_ != 0 && file_size_ + record.size() > options_.max_bytes) {
    rotate();
  }
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int error = n < 0 ? errno : EIO;
    // Take back a partial record, so our file stays whole lines for its
    // readers (not stdout: `> log 2>&1` shares it with our log lines).
    if (done != 0 && owned_) {
      if (::ftruncate(fd_, static_cast<off_t>(file_size_)) != 0) file_size_ += done;
    }
    return fail(error);
  }
  file_size_ += done;
  return WriteStatus::kOk;
}

WriteStatus LocalOutput::write_stream(std::string_view record, const WriteCancel& cancel,
                                      Clock::time_point deadline) noexcept {
  size_t done = 0;
  while (done < record.size()) {
    if (cancel.cancelled()) return WriteStatus::kCancelled;
    const char* data = record.data() + done;
    const size_t left = record.size() - done;
    ssize_t n = 0;
    if (kind_ == Kind::kSocket) {
      n = ::send(fd_, data, left, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else if (kind_ == Kind::kBlockingStream) {
      // Not ours to make non-blocking: after POLLOUT, a pipe takes PIPE_BUF bytes without blocking.
      if (const WriteStatus status = wait_writable(cancel, deadline); status != WriteStatus::kOk) return status;
      n = ::write(fd_, data, std::min<size_t>(left, PIPE_BUF));
    } else {
      n = ::write(fd_, data, left);
    }
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (const WriteStatus status = wait_writable(cancel, deadline); status != WriteStatus::kOk) return status;
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      closed_.store(true, std::memory_order_release);
      return WriteStatus::kClosed;
    }
    return fail(n < 0 ? errno : EIO);
  }
  return WriteStatus::kOk;
}

WriteStatus LocalOutput::wait_writable(const WriteCancel& cancel, Clock::time_point deadline) noexcept {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {cancel.fd(), POLLIN, 0}};
    const int ready = ::poll(fds, cancel.fd() >= 0 ? 2 : 1, poll_timeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (cancel.cancelled()) return WriteStatus::kCancelled;
    if (ready == 0) return WriteStatus::kTimedOut;
    if (ready < 0) return fail(errno);
    // POLLERR on a pipe: no reader left; the next write says EPIPE.
    return WriteStatus::kOk;
  }
}

WriteStatus LocalOutput::open_pending_fifo(const WriteCancel& cancel, Clock::time_point deadline) noexcept {
  for (;;) {
    const int fd = ::open(options_.path.c_str(), kOpenFlags, 0644);
    if (fd >= 0) {
      adopt(fd, true);
      return WriteStatus::kOk;
    }
    if (errno != ENXIO) return fail(errno);
    // No reader yet: look again shortly, still cancellable.
    pollfd wake = {cancel.fd(), POLLIN, 0};
    const int ready = ::poll(&wake, cancel.fd() >= 0 ? 1 : 0, poll_timeout(deadline, kFifoRetry));
    if (cancel.cancelled() || (ready > 0)) return WriteStatus::kCancelled;
    if (Clock::now() >= deadline) return WriteStatus::kTimedOut;
  }
}

WriteStatus LocalOutput::fail(int error) noexcept {
  failed_writes_.fetch_add(1, std::memory_order_relaxed);
  int none = 0;
  if (first_error_.compare_exchange_strong(none, error)) {
    try {
      spdlog::error("writing to {} failed: {}; what is written there is lost until it works again "
                    "(counted as output_failed)",
                    name_, std::strerror(error));
    } catch (...) {
    }
  }
  return WriteStatus::kFailed;
}

// PATH -> PATH.1 -> ... -> PATH.<keep> (dropped), then a fresh PATH. The
// current file is renamed while still open, so if the new one cannot be
// created the writes go on into the renamed one.
bool LocalOutput::rotate() noexcept {
  static RateLimitedLog rotate_log;
  const std::string& path = options_.path;
  try {
    if (options_.keep == 0) {
      ::unlink(path.c_str());
    } else {
      for (uint32_t i = options_.keep; i > 1; --i) {
        const std::string from = path + "." + std::to_string(i - 1);
        const std::string to = path + "." + std::to_string(i);
        if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
          rotate_log.warn("rotating {}: cannot rename {}: {}", path, from, std::strerror(errno));
        }
      }
      if (::rename(path.c_str(), (path + ".1").c_str()) != 0) {
        rotate_log.warn("rotating {}: cannot rename it: {}; writing on", path, std::strerror(errno));
        return false;
      }
    }
    const int fd = ::open(path.c_str(), kOpenFlags | O_TRUNC, 0644);
    if (fd < 0) {
      rotate_log.warn("rotating {}: cannot create it again: {}; writing on into the rotated file", path,
                      std::strerror(errno));
      return false;
    }
    ::close(fd_);
    fd_ = fd;
    file_size_ = 0;
    rotations_.fetch_add(1, std::memory_order_relaxed);
    return true;
  } catch (...) {
    return false;
  }
}

const char* to_string(WriteStatus status) noexcept {
  switch (status) {
    case WriteStatus::kOk: return "ok";
    case WriteStatus::kClosed: return "closed";
    case WriteStatus::kFailed: return "failed";
    case WriteStatus::kCancelled: return "cancelled";
    case WriteStatus::kTimedOut: return "timed out";
  }
  return "?";
}

}  // namespace bto
