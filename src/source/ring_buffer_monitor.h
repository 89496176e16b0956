#pragma once
// What bpftrace's own loss reports miss, read from its BPF maps.
//
// bpftrace 0.23+ sends its output through a BPF ring buffer. Two kinds of
// events get lost without bpftrace counting them (docs/compatibility.md):
//  * 0.24+ count ring-buffer overflows per CPU in the global
//    .data.event_loss_counter and add up every CPU but the last (a loop
//    `i < max_cpu_id`): what the highest-numbered CPU lost is never reported.
//  * On SIGINT bpftrace stops reading the ring buffer at once: whatever it
//    still holds (16 MiB on 0.27, hundreds of thousands of events after a
//    burst) is dropped without a count.
// The monitor takes copies of bpftrace's map file descriptors (pidfd_getfd,
// so the maps outlive bpftrace for the final count) and reads (1) the loss
// counter's last slot and (2) the ring buffer's positions: the source waits
// for bpftrace to catch up before stopping it, and counts the records left
// behind if it did not.
//
// Linux 5.6+ (pidfd_getfd); needs ptrace access to bpftrace (we are its
// parent) and CAP_BPF or CAP_SYS_ADMIN (bpftrace needs them too). When
// anything is missing the monitor is simply not available; bpftrace's own
// reports are then all there is.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace bto {

class RingBufferMonitor {
 public:
  virtual ~RingBufferMonitor() = default;

  // Finds bpftrace's ring buffer (and, with `loss_counter`, its
  // .data.event_loss_counter) among the BPF maps process `pid` holds. nullptr
  // (with the reason in `why_not`) when there is no ring buffer or no access.
  static std::unique_ptr<RingBufferMonitor> attach(pid_t pid, bool loss_counter, std::string& why_not);

  // Events lost on the CPU bpftrace forgets to count (0 without the counter).
  virtual uint64_t unreported_losses() const = 0;
  // Bytes written to the ring buffer and not yet consumed by bpftrace.
  virtual uint64_t pending_bytes() const = 0;
  // The producer position now (to wait until the consumer passes it).
  virtual uint64_t producer_position() const = 0;
  virtual uint64_t consumer_position() const = 0;
  // Records written and never consumed: after bpftrace exited, the events it
  // dropped. Discarded records are not counted.
  virtual uint64_t pending_records() const = 0;
  virtual bool has_loss_counter() const = 0;
};

}  // namespace bto
