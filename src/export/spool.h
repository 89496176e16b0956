#pragma once
// Disk spool of encoded export requests (docs/design.md, "Disk spool"): what
// the collector cannot take now waits in append-only segment files in a
// private directory and is sent later, oldest first, by this run or the next.
//
// On disk: DIR/lock (flock: one instance per directory) and
// DIR/segment-<20-digit id>.spool files. A segment is a 16-byte header
// ("BTOSPOOL", format version) followed by records; a record is a 28-byte
// header (magic, state, length, span count, encoding, payload CRC-32, header
// CRC-32) and the request bytes. The state word is the only thing ever
// rewritten in place: WAIT when appended, SEND before each attempt, DONE once
// the collector accepted (or refused for good) the request. A segment file is
// deleted when every record in it has been handed out and settled.
//
// Thread-safe: the batch processor's workers and its spool writer share one.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "export/span_exporter.h"

namespace bto {

struct SpoolOptions {
  std::string dir;                  // --spool-dir; empty = no spool
  uint64_t max_bytes = 1ull << 30;  // --spool-max-size: segment files together
  uint64_t segment_bytes = 0;       // 0 = max_bytes / 16, between 1 MiB and 64 MiB
};

// Written by the spool (under its lock), read by anyone.
struct SpoolStats {
  std::atomic<uint64_t> bytes{0};      // gauge: size of the segment files now
  std::atomic<uint64_t> max_bytes{0};  // gauge: the bound (0 = no spool)
  std::atomic<uint64_t> requests_spooled{0};
  std::atomic<uint64_t> spans_spooled{0};
  std::atomic<uint64_t> requests_replayed{0};  // sent from the spool and accepted by the collector
  std::atomic<uint64_t> spans_replayed{0};
  // Requests lost to the bound: the oldest dropped at the size limit, or a
  // request that could not be written (disk full, I/O error, larger than the limit).
  std::atomic<uint64_t> requests_dropped{0};
  std::atomic<uint64_t> spans_dropped{0};  // their spans: spans_dropped{reason="spool_full"}
  // Damaged stretches skipped (a torn write, flipped bits, a foreign file named
  // like a segment): each counts once, however many records it held.
  std::atomic<uint64_t> corrupt_records{0};
  std::atomic<uint64_t> corrupt_bytes{0};
  // Requests an earlier run had started sending without seeing the answer
  // (state SEND found at start): sent again, so the collector may get them twice.
  std::atomic<uint64_t> resent_requests{0};
  std::atomic<uint64_t> inherited_bytes{0};  // found at start
};

inline constexpr size_t kSpoolSegmentHeaderBytes = 16;
inline constexpr size_t kSpoolRecordHeaderBytes = 28;

// A request handed out by claim(); settle() or give_back() it.
struct SpooledRequest {
  uint64_t segment = 0;
  uint64_t offset = 0;
  uint32_t spans = 0;
  uint8_t encoding = 0;  // a RequestEncoding value, or an unknown one from another version
  std::string body;      // reused by the caller from claim to claim
};

class Spool {
 public:
  virtual ~Spool() = default;
  // Keeps a request. When it would not fit in max_bytes the oldest segments are
  // dropped (counted); false when the request itself could not be kept (counted
  // as dropped too). Never blocks on anything but the disk.
  virtual bool append(RequestEncoding encoding, uint32_t spans, std::string_view body) noexcept = 0;
  // Whether claim() may have something (records not handed out yet, or given back).
  virtual bool has_pending() const noexcept = 0;
  // The oldest request not handed out (given-back ones first), checked against
  // its checksums; damaged records on the way are skipped and counted. Marks it
  // SEND on disk. False when there is none.
  virtual bool claim(SpooledRequest& request) noexcept = 0;
  // The claimed request is finished with: accepted (`sent`) or refused for good.
  virtual void settle(const SpooledRequest& request, bool sent) noexcept = 0;
  // The claimed request could not be sent now: it is handed out again first.
  virtual void give_back(const SpooledRequest& request) noexcept = 0;
  // Syncs the segment being written and releases the directory. Idempotent.
  virtual void close() noexcept = 0;
};

// Creates DIR (mode 0700) if needed, locks it, and takes over what an earlier
// run left. Throws StartupError: not a directory, not writable, locked by
// another running instance (named by its pid).
std::unique_ptr<Spool> open_spool(const SpoolOptions& options, SpoolStats& stats);

// The segment size the options give (segment_bytes, or derived from max_bytes).
uint64_t spool_segment_bytes(const SpoolOptions& options) noexcept;

}  // namespace bto
