#include "export/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "common/errors.h"
#include "common/log.h"
#include "export/spool_format.h"

namespace bto {

namespace sf = spool_format;

uint64_t spool_segment_bytes(const SpoolOptions& options) noexcept {
  if (options.segment_bytes > 0) return options.segment_bytes;
  // Small enough that dropping the oldest segment at the limit loses little
  // (a sixteenth), large enough that files are few.
  return std::max<uint64_t>(std::min<uint64_t>(std::clamp<uint64_t>(options.max_bytes / 16, 1 << 20, 64 << 20),
                                               options.max_bytes / 4),
                            64 << 10);
}

namespace {

constexpr const char* kLockName = "lock";
constexpr std::string_view kSegmentPrefix = "segment-";
constexpr std::string_view kSegmentSuffix = ".spool";
constexpr size_t kIdDigits = 20;

std::string segment_name(uint64_t id) {
  return fmt::format("{}{:0{}}{}", kSegmentPrefix, id, kIdDigits, kSegmentSuffix);
}

bool parse_segment_name(std::string_view name, uint64_t& id) {
  if (name.size() != kSegmentPrefix.size() + kIdDigits + kSegmentSuffix.size() || !name.starts_with(kSegmentPrefix) ||
      !name.ends_with(kSegmentSuffix)) {
    return false;
  }
  id = 0;
  for (const char c : name.substr(kSegmentPrefix.size(), kIdDigits)) {
    if (c < '0' || c > '9') return false;
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

std::string errno_text() { return std::strerror(errno); }

// mkdir -p, new directories 0700; the last one must end up a writable directory.
void ensure_directory(const std::string& dir) {
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string part = dir.substr(0, slash);
    if (!part.empty() && ::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      throw StartupError(fmt::format("spool_dir: cannot create {}: {}", quote_bytes(part, 200), errno_text()));
    }
    if (slash == std::string::npos) break;
  }
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw StartupError(fmt::format("spool_dir: {} is not a directory", quote_bytes(dir, 200)));
  }
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    throw StartupError(fmt::format("spool_dir: {} is not writable: {}", quote_bytes(dir, 200), errno_text()));
  }
  if ((st.st_mode & 077) != 0) {
    // Spooled spans carry whatever the traced program put in them.
    spdlog::warn("spool directory {} is accessible to other users (mode {:03o}); spooled spans may hold "
                 "sensitive data: chmod 700 it",
                 quote_bytes(dir, 200), st.st_mode & 0777);
  }
}

// flock on DIR/lock; the holder's pid is written in it for the message.
int lock_directory(const std::string& dir) {
  const std::string path = dir + "/" + kLockName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw StartupError(fmt::format("spool_dir: cannot open {}: {}", quote_bytes(path, 200), errno_text()));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string("?");
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      throw StartupError(fmt::format(
          "spool_dir: {} is in use by another running bpftrace-otel (pid {}); each instance needs its own "
          "--spool-dir",
          quote_bytes(dir, 200), quote_bytes(holder, 20)));
    }
    throw StartupError(fmt::format("spool_dir: cannot lock {}: {}", quote_bytes(path, 200), std::strerror(error)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || !sf::pwrite_all(fd, pid.data(), pid.size(), 0)) {
    spdlog::warn("spool: cannot write the pid into {}: {}", quote_bytes(path, 200), errno_text());
  }
  return fd;
}

struct Segment {
  uint64_t id = 0;
  int fd = -1;
  uint64_t size = 0;                              // bytes in the file
  uint64_t read_offset = kSpoolSegmentHeaderBytes;  // next record to hand out
  uint32_t in_flight = 0;                         // claimed, not settled or given back
  uint32_t returned = 0;                          // given back, in returned_
  bool inherited = false;                         // left by an earlier run
  bool sealed = false;                            // no more appends
};

struct RecordRef {
  uint64_t segment;
  uint64_t offset;
};

class DiskSpool final : public Spool {
 public:
  DiskSpool(const SpoolOptions& options, SpoolStats& stats)
      : dir_(options.dir), max_bytes_(options.max_bytes), segment_bytes_(spool_segment_bytes(options)),
        stats_(stats) {
    while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
    ensure_directory(dir_);
    lock_fd_ = lock_directory(dir_);
    take_over();
    stats_.max_bytes.store(max_bytes_);
  }

  ~DiskSpool() override { close(); }

  bool append(RequestEncoding encoding, uint32_t spans, std::string_view body) noexcept override {
    std::lock_guard lock(mutex_);
    const PendingUpdate update(*this);
    if (closed_) return drop_request(spans, "the spool is closed");
    const uint64_t record = kSpoolRecordHeaderBytes + body.size();
    if (body.size() > sf::kMaxPayload || record + kSpoolSegmentHeaderBytes > max_bytes_) {
      return drop_request(spans, fmt::format("a {}-byte request is larger than spool_max_size", body.size()));
    }
    sf::RecordHeader header;
    header.length = static_cast<uint32_t>(body.size());
    header.spans = spans;
    header.encoding = static_cast<uint8_t>(encoding);
    header.payload_crc = sf::crc32(body);
    char head[kSpoolRecordHeaderBytes];
    sf::write_record_header(header, head);
    // Each disk-full retry drops one older segment first, so this ends.
    for (;;) {
      if (const Segment* active = active_segment();
          active != nullptr && active->size > kSpoolSegmentHeaderBytes && active->size + record > segment_bytes_) {
        seal_active();  // full: the next one starts
      }
      const uint64_t needed = record + (active_segment() == nullptr ? kSpoolSegmentHeaderBytes : 0);
      while (bytes_ + needed > max_bytes_ && drop_oldest("spool_max_size reached")) {
      }
      if (bytes_ + needed > max_bytes_) return drop_request(spans, "spool_max_size reached");
      Segment* active = active_segment();
      if (active == nullptr && (active = create_segment()) == nullptr) {
        if (errno == ENOSPC && drop_oldest("the disk is full")) continue;
        return drop_request(spans, "cannot create a segment: " + errno_text());
      }
      iovec parts[2] = {{head, sizeof head}, {const_cast<char*>(body.data()), body.size()}};
      if (write_all(active->fd, parts, active->size)) {
        active->size += record;
        add_bytes(record);
        ++stats_.requests_spooled;
        stats_.spans_spooled += spans;
        return true;
      }
      const int error = errno;
      // Cut what was written of this record: no torn tail for the reader to skip.
      const bool cut = ::ftruncate(active->fd, static_cast<off_t>(active->size)) == 0;
      if (!cut || error == ENOSPC) seal_active();
      if (error == ENOSPC) {
        learn_disk_size();
        // Room comes from the oldest data, as at spool_max_size; the sealed
        // segment itself goes too if it is the only one.
        if (drop_oldest("the disk is full")) continue;
        return drop_request(spans, "the disk is full");
      }
      errno = error;
      return drop_request(spans, "write failed: " + errno_text());
    }
  }

  // Lock-free: the batch processor asks under its own lock, which the reader
  // thread takes too, and the spool's lock may be held across disk I/O.
  bool has_pending() const noexcept override { return pending_.load(std::memory_order_acquire); }

  bool claim(SpooledRequest& request) noexcept override {
    std::lock_guard lock(mutex_);
    const PendingUpdate update(*this);
    while (!returned_.empty()) {
      const RecordRef ref = returned_.front();
      returned_.pop_front();
      Segment* segment = find(ref.segment);
      if (segment == nullptr) continue;  // dropped meanwhile (counted then)
      --segment->returned;
      sf::RecordHeader header;
      uint64_t next = segment->size;
      if (sf::read_record(segment->fd, ref.offset, segment->size, header, request.body, next) ==
          sf::ReadResult::kRecord) {
        hand_out(*segment, ref.offset, header, request);
        return true;
      }
      count_corrupt(*segment, ref.offset, next - ref.offset);
      delete_if_finished(segment->id);
    }
    for (size_t i = 0; i < segments_.size();) {
      Segment& segment = segments_[i];
      while (segment.read_offset < segment.size) {
        const uint64_t offset = segment.read_offset;
        sf::RecordHeader header;
        uint64_t next = segment.size;
        const sf::ReadResult result = sf::read_record(segment.fd, offset, segment.size, header, request.body, next);
        segment.read_offset = std::max(next, offset + 1);
        if (result == sf::ReadResult::kDamaged) {
          count_corrupt(segment, offset, segment.read_offset - offset);
          continue;
        }
        if (result != sf::ReadResult::kRecord || header.state == sf::kStateDone) continue;
        if (header.state != sf::kStateWait) ++stats_.resent_requests;  // SEND (or unknown): maybe delivered
        hand_out(segment, offset, header, request);
        return true;
      }
      if (!delete_if_finished(segment.id)) ++i;
    }
    return false;
  }

  void settle(const SpooledRequest& request, bool sent) noexcept override {
    std::lock_guard lock(mutex_);
    const PendingUpdate update(*this);
    if (sent) {
      ++stats_.requests_replayed;
      stats_.spans_replayed += request.spans;
    }
    Segment* segment = find(request.segment);
    if (segment == nullptr) return;  // dropped while in flight
    write_state(*segment, request.offset, sf::kStateDone);
    --segment->in_flight;
    delete_if_finished(segment->id);
  }

  void give_back(const SpooledRequest& request) noexcept override {
    std::lock_guard lock(mutex_);
    const PendingUpdate update(*this);
    Segment* segment = find(request.segment);
    if (segment == nullptr) {  // its segment was dropped for room while it was out: lost now
      ++stats_.requests_dropped;
      stats_.spans_dropped += request.spans;
      return;
    }
    --segment->in_flight;
    ++segment->returned;
    returned_.push_front({request.segment, request.offset});
  }

  void close() noexcept override {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    for (Segment& segment : segments_) {
      // What this run wrote, against a power loss after a clean exit (a crash of
      // the process itself loses nothing: the kernel has the pages).
      if (!segment.inherited) ::fdatasync(segment.fd);
      ::close(segment.fd);
      segment.fd = -1;
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
  }

 private:
  // Recomputes pending_ when an operation ends (under mutex_, after any change).
  struct PendingUpdate {
    DiskSpool& spool;
    explicit PendingUpdate(DiskSpool& owner) : spool(owner) {}
    ~PendingUpdate() { spool.pending_.store(spool.compute_pending(), std::memory_order_release); }
  };

  bool compute_pending() const noexcept {
    if (!returned_.empty()) return true;
    for (const Segment& segment : segments_) {
      if (segment.read_offset < segment.size) return true;
    }
    return false;
  }

  // The directory as an earlier run left it: segments in id order, empty
  // ones (a crash right after creating one) removed, foreign ones set aside.
  void take_over() {
    DIR* dir = ::opendir(dir_.c_str());
    if (dir == nullptr) throw StartupError(fmt::format("spool_dir: cannot list {}: {}", dir_, errno_text()));
    std::vector<uint64_t> ids;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      uint64_t id = 0;
      if (parse_segment_name(name, id)) {
        ids.push_back(id);
      } else if (name != "." && name != ".." && name != kLockName && !name.ends_with(".corrupt")) {
        spdlog::warn("spool: ignoring {} in {}: not a spool file (left as it is)", quote_bytes(name, 100), dir_);
      }
    }
    ::closedir(dir);
    std::sort(ids.begin(), ids.end());
    for (const uint64_t id : ids) adopt_segment(id);
    next_id_ = ids.empty() ? 1 : ids.back() + 1;
    pending_.store(compute_pending());
    stats_.inherited_bytes.store(bytes_);
    if (!segments_.empty()) {
      spdlog::info("spool {}: {} segment(s), {} bytes left by an earlier run; sending them first", dir_,
                   segments_.size(), bytes_);
    }
  }

  void adopt_segment(uint64_t id) {
    const std::string path = dir_ + "/" + segment_name(id);
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      spdlog::warn("spool: cannot open {}: {}; left as it is", path, errno_text());
      if (fd >= 0) ::close(fd);
      return;
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    char head[kSpoolSegmentHeaderBytes];
    uint32_t version = 0;
    if (size < kSpoolSegmentHeaderBytes) {
      // Created, then the process died before the header was written: holds nothing.
      spdlog::info("spool: removing {} ({} bytes, no records)", path, size);
      ::close(fd);
      ::unlink(path.c_str());
      return;
    }
    if (!sf::pread_all(fd, head, sizeof head, 0) || !sf::read_segment_header(head, version) ||
        version != sf::kFormatVersion) {
      ::close(fd);
      ++stats_.corrupt_records;
      stats_.corrupt_bytes += size;
      const std::string aside = path + ".corrupt";
      const bool renamed = ::rename(path.c_str(), aside.c_str()) == 0;
      spdlog::error("spool: {} is not a spool segment this version can read ({}); {}", path,
                    version != 0 ? fmt::format("format version {}", version) : std::string("bad header"),
                    renamed ? "renamed to " + aside + " (inspect or delete it)" : "left as it is");
      return;
    }
    Segment segment;
    segment.id = id;
    segment.fd = fd;
    segment.size = size;
    segment.inherited = true;
    segment.sealed = true;
    segments_.push_back(segment);
    add_bytes(size);
  }

  Segment* active_segment() noexcept {
    if (segments_.empty() || segments_.back().sealed) return nullptr;
    return &segments_.back();
  }

  Segment* find(uint64_t id) noexcept {
    for (Segment& segment : segments_) {
      if (segment.id == id) return &segment;
    }
    return nullptr;
  }

  // Errno set on failure (and nothing left behind).
  Segment* create_segment() noexcept {
    const uint64_t id = next_id_++;
    const std::string path = dir_ + "/" + segment_name(id);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return nullptr;
    char head[kSpoolSegmentHeaderBytes];
    sf::write_segment_header(head);
    if (!sf::pwrite_all(fd, head, sizeof head, 0)) {
      const int error = errno;
      ::close(fd);
      ::unlink(path.c_str());
      errno = error;
      return nullptr;
    }
    Segment segment;
    segment.id = id;
    segment.fd = fd;
    segment.size = kSpoolSegmentHeaderBytes;
    try {
      segments_.push_back(segment);
    } catch (const std::exception&) {
      ::close(fd);
      ::unlink(path.c_str());
      errno = ENOMEM;
      return nullptr;
    }
    add_bytes(segment.size);
    return &segments_.back();
  }

  static bool write_all(int fd, iovec (&parts)[2], uint64_t offset) noexcept {
    size_t total = parts[0].iov_len + parts[1].iov_len;
    iovec* iov = parts;
    int count = 2;
    while (total > 0) {
      const ssize_t n = ::pwritev(fd, iov, count, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;
        return false;
      }
      size_t written = static_cast<size_t>(n);
      total -= written;
      offset += written;
      while (count > 0 && written >= iov->iov_len) {
        written -= iov->iov_len;
        ++iov;
        --count;
      }
      if (count > 0) {
        iov->iov_base = static_cast<char*>(iov->iov_base) + written;
        iov->iov_len -= written;
      }
    }
    return true;
  }

  void hand_out(Segment& segment, uint64_t offset, const sf::RecordHeader& header, SpooledRequest& request) noexcept {
    write_state(segment, offset, sf::kStateSend);
    ++segment.in_flight;
    request.segment = segment.id;
    request.offset = offset;
    request.spans = header.spans;
    request.encoding = header.encoding;
  }

  void write_state(const Segment& segment, uint64_t offset, uint32_t state) noexcept {
    char bytes[4];
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((state >> (8 * i)) & 0xFF);
    if (!sf::pwrite_all(segment.fd, bytes, sizeof bytes, offset + sf::kStateOffset)) {
      // At worst the request is sent again after a restart (state not DONE), never lost.
      io_log_.warn("spool: cannot mark a request in segment {}: {}", segment.id, errno_text());
    }
  }

  void count_corrupt(const Segment& segment, uint64_t offset, uint64_t length) noexcept {
    ++stats_.corrupt_records;
    stats_.corrupt_bytes += length;
    corrupt_log_.warn("spool: skipped {} damaged bytes at offset {} of segment {} (torn write or corruption); "
                      "{} damaged stretches so far",
                      length, offset, segment.id, stats_.corrupt_records.load());
  }

  bool drop_request(uint32_t spans, const std::string& why) noexcept {
    ++stats_.requests_dropped;
    stats_.spans_dropped += spans;
    drop_log_.warn("spool: could not keep a request of {} spans ({}); dropped", spans, why);
    return false;
  }

  // The disk filled before spool_max_size: from now on segments are small
  // enough that making room drops an eighth of what the disk holds, not all.
  void learn_disk_size() noexcept {
    const uint64_t smaller = std::max<uint64_t>(bytes_ / 8, 64 << 10);
    if (smaller >= segment_bytes_) return;
    spdlog::warn("spool: the disk holding {} is full at {} bytes of spool (spool_max_size {}); the oldest "
                 "requests are dropped to make room, segments are now {} bytes",
                 dir_, bytes_, max_bytes_, smaller);
    segment_bytes_ = smaller;
  }

  void seal_active() noexcept {
    if (!segments_.empty()) segments_.back().sealed = true;
  }

  // Drops the oldest segment that takes no appends, counting what it still
  // held. False when there is none.
  bool drop_oldest(const char* why) noexcept {
    if (segments_.empty() || &segments_.front() == active_segment()) return false;
    Segment& segment = segments_.front();
    uint64_t requests = 0, spans = 0;
    for (auto it = returned_.begin(); it != returned_.end();) {
      sf::RecordHeader header;
      if (it->segment != segment.id) {
        ++it;
        continue;
      }
      if (sf::peek_record(segment.fd, it->offset, segment.size, header)) {
        ++requests;
        spans += header.spans;
      }
      it = returned_.erase(it);
    }
    for (uint64_t offset = segment.read_offset; offset < segment.size;) {
      sf::RecordHeader header;
      if (!sf::peek_record(segment.fd, offset, segment.size, header)) break;  // the rest is damaged
      if (header.state != sf::kStateDone) {
        ++requests;
        spans += header.spans;
      }
      offset += kSpoolRecordHeaderBytes + header.length;
    }
    stats_.requests_dropped += requests;
    stats_.spans_dropped += spans;
    drop_log_.warn("spool: {}: dropped the oldest segment ({} bytes, {} requests, {} spans)", why, segment.size,
                   requests, spans);
    remove_segment(segment.id);
    return true;
  }

  // Deletes a segment whose records are all handed out and settled.
  bool delete_if_finished(uint64_t id) noexcept {
    const Segment* segment = find(id);
    if (segment == nullptr || segment->read_offset < segment->size || segment->in_flight > 0 ||
        segment->returned > 0) {
      return false;
    }
    remove_segment(id);
    return true;
  }

  void remove_segment(uint64_t id) noexcept {
    for (auto it = segments_.begin(); it != segments_.end(); ++it) {
      if (it->id != id) continue;
      const std::string path = dir_ + "/" + segment_name(id);
      if (::unlink(path.c_str()) != 0) io_log_.warn("spool: cannot delete {}: {}", path, errno_text());
      ::close(it->fd);
      sub_bytes(it->size);
      segments_.erase(it);
      return;
    }
  }

  void add_bytes(uint64_t n) noexcept {
    bytes_ += n;
    stats_.bytes.store(bytes_, std::memory_order_relaxed);
  }
  void sub_bytes(uint64_t n) noexcept {
    bytes_ -= std::min(n, bytes_);
    stats_.bytes.store(bytes_, std::memory_order_relaxed);
  }

  std::string dir_;
  const uint64_t max_bytes_;
  uint64_t segment_bytes_;
  SpoolStats& stats_;
  mutable std::mutex mutex_;
  std::deque<Segment> segments_;  // oldest first; the last one takes appends unless sealed
  std::deque<RecordRef> returned_;
  uint64_t next_id_ = 1;
  uint64_t bytes_ = 0;
  std::atomic<bool> pending_{false};  // compute_pending(), as of the last operation
  int lock_fd_ = -1;
  bool closed_ = false;
  RateLimitedLog drop_log_;
  RateLimitedLog corrupt_log_;
  RateLimitedLog io_log_;
};

}  // namespace

std::unique_ptr<Spool> open_spool(const SpoolOptions& options, SpoolStats& stats) {
  if (options.dir.empty()) throw StartupError("spool_dir: empty path");
  return std::make_unique<DiskSpool>(options, stats);
}

}  // namespace bto
