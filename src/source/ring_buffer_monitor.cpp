#include "source/ring_buffer_monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace bto {
namespace {

// libbpf names the map of section ".data.event_loss_counter" after the
// section, cut to BPF_OBJ_NAME_LEN - 1 characters.
constexpr std::string_view kLossCounterMapName = ".data.event_los";
constexpr uint32_t kRecordHeaderBytes = 8;  // struct bpf_ringbuf_hdr { u32 len; u32 pg_off; }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

long bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof attr); }

std::optional<bpf_map_info> map_info(int fd) {
  bpf_map_info info{};
  bpf_attr attr{};
  attr.info.bpf_fd = static_cast<uint32_t>(fd);
  attr.info.info_len = sizeof info;
  attr.info.info = reinterpret_cast<uint64_t>(&info);
  if (bpf(BPF_OBJ_GET_INFO_BY_FD, attr) != 0) return std::nullopt;
  return info;
}

// The fd numbers of process `pid` that are BPF maps.
std::vector<int> bpf_map_fds(pid_t pid) {
  std::vector<int> fds;
  const std::string dir = fmt::format("/proc/{}/fd", pid);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return fds;
  while (const dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    char target[64];
    const std::string link = dir + "/" + entry->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    if (std::string_view(target, static_cast<size_t>(n)) == "anon_inode:bpf-map") fds.push_back(std::atoi(entry->d_name));
  }
  ::closedir(d);
  return fds;
}

class Monitor final : public RingBufferMonitor {
 public:
  Monitor(Fd ring, uint32_t data_size, Fd counter, uint32_t counter_size)
      : ring_(std::move(ring)), data_size_(data_size), counter_(std::move(counter)), counter_size_(counter_size) {}

  ~Monitor() override {
    if (consumer_page_ != MAP_FAILED) ::munmap(consumer_page_, page_);
    if (producer_and_data_ != MAP_FAILED) ::munmap(producer_and_data_, page_ + 2 * size_t{data_size_});
  }

  // Maps the positions and the data (read-only; the data twice, as the kernel
  // lays it out, so a record that wraps around reads straight).
  bool map(std::string& why_not) {
    page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    consumer_page_ = ::mmap(nullptr, page_, PROT_READ, MAP_SHARED, ring_.get(), 0);
    if (consumer_page_ == MAP_FAILED) {
      why_not = fmt::format("cannot map the ring buffer's consumer page: {}", std::strerror(errno));
      return false;
    }
    producer_and_data_ = ::mmap(nullptr, page_ + 2 * size_t{data_size_}, PROT_READ, MAP_SHARED, ring_.get(),
                                static_cast<off_t>(page_));
    if (producer_and_data_ == MAP_FAILED) {
      why_not = fmt::format("cannot map the ring buffer: {}", std::strerror(errno));
      return false;
    }
    return true;
  }

  uint64_t unreported_losses() const override {
    if (!counter_ || counter_size_ < sizeof(uint64_t)) return 0;
    std::vector<uint64_t> slots(counter_size_ / sizeof(uint64_t));
    uint32_t key = 0;
    bpf_attr attr{};
    attr.map_fd = static_cast<uint32_t>(counter_.get());
    attr.key = reinterpret_cast<uint64_t>(&key);
    attr.value = reinterpret_cast<uint64_t>(slots.data());
    if (bpf(BPF_MAP_LOOKUP_ELEM, attr) != 0) return 0;
    return slots.back();
  }

  uint64_t consumer_position() const override { return load(consumer_page_); }
  uint64_t producer_position() const override { return load(producer_and_data_); }
  uint64_t pending_bytes() const override {
    const uint64_t consumer = consumer_position();
    const uint64_t producer = producer_position();
    return producer > consumer ? producer - consumer : 0;
  }

  uint64_t pending_records() const override {
    const auto* data = static_cast<const unsigned char*>(producer_and_data_) + page_;
    const uint64_t mask = data_size_ - 1;  // the kernel makes the size a power of 2
    uint64_t position = consumer_position();
    const uint64_t producer = producer_position();
    uint64_t records = 0;
    while (position < producer) {
      uint32_t length = 0;
      std::memcpy(&length, data + (position & mask), sizeof length);
      if ((length & BPF_RINGBUF_BUSY_BIT) != 0) break;  // reserved, never committed
      if ((length & BPF_RINGBUF_DISCARD_BIT) == 0) ++records;
      length &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
      position += (uint64_t{length} + kRecordHeaderBytes + 7) & ~uint64_t{7};
    }
    return records;
  }

  bool has_loss_counter() const override { return static_cast<bool>(counter_); }

 private:
  static uint64_t load(const void* page) {
    // The kernel (producer) and bpftrace (consumer) write these with release semantics.
    return __atomic_load_n(static_cast<const uint64_t*>(page), __ATOMIC_ACQUIRE);
  }

  Fd ring_;
  uint32_t data_size_;
  Fd counter_;
  uint32_t counter_size_;
  size_t page_ = 4096;
  void* consumer_page_ = MAP_FAILED;
  void* producer_and_data_ = MAP_FAILED;
};

}  // namespace

std::unique_ptr<RingBufferMonitor> RingBufferMonitor::attach(pid_t pid, bool loss_counter, std::string& why_not) {
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    why_not = fmt::format("pidfd_open({}): {}", pid, std::strerror(errno));
    return nullptr;
  }
  Fd ring;
  uint32_t ring_size = 0;
  Fd counter;
  uint32_t counter_size = 0;
  for (const int target_fd : bpf_map_fds(pid)) {
    Fd fd(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), target_fd, 0)));
    if (!fd) {
      why_not = fmt::format("pidfd_getfd: {}", std::strerror(errno));
      return nullptr;
    }
    const auto info = map_info(fd.get());
    if (!info) {
      why_not = fmt::format("BPF_OBJ_GET_INFO_BY_FD: {}", std::strerror(errno));
      return nullptr;
    }
    if (info->type == BPF_MAP_TYPE_RINGBUF && !ring) {
      ring = std::move(fd);
      ring_size = info->max_entries;
    } else if (loss_counter && info->type == BPF_MAP_TYPE_ARRAY && info->max_entries == 1 &&
               std::string_view(info->name) == kLossCounterMapName) {
      counter = std::move(fd);
      counter_size = info->value_size;
    }
  }
  if (!ring) {
    why_not = "bpftrace has no BPF ring buffer (perf buffers report their own losses)";
    return nullptr;
  }
  if (ring_size == 0 || (ring_size & (ring_size - 1)) != 0) {
    why_not = fmt::format("unexpected ring buffer size {}", ring_size);
    return nullptr;
  }
  auto monitor = std::make_unique<Monitor>(std::move(ring), ring_size, std::move(counter), counter_size);
  if (!monitor->map(why_not)) return nullptr;
  if (loss_counter && !monitor->has_loss_counter()) why_not = "no .data.event_loss_counter map found";
  return monitor;
}

}  // namespace bto
