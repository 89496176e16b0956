#pragma once
// Private to spans/: what the correlator keeps per event family and per open
// span. The chains through open spans are the correlator's (correlator.cpp);
// parent links read open spans through identity().

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "spans/flat_index.h"
#include "spans/handlers/event_handler.h"
#include "spans/id_string.h"
#include "spans/packed_span.h"
#include "spans/resource.h"
#include "spans/span_pool.h"

namespace bto {

// Per distinct family, resolved once: its handler and whether its spans are
// parents for automatic nesting. A family no built-in or configured handler
// claims is "junk" until proven otherwise: it lives on a least-recently-used
// list and may be replaced by a new family once nothing refers to it.
struct FamilyInfo {
  std::string name;
  EventHandler* handler = nullptr;
  std::span<const std::string> key_fields;  // empty: request_id
  bool nests = false;
  bool reserved = false;  // built-in or configured: never replaced, not counted against max_families
  // Open spans and held ends pointing here; only an unused family is replaced.
  mutable uint32_t users = 0;
  FamilyInfo* lru_prev = nullptr;  // towards the most recently used (junk families only)
  FamilyInfo* lru_next = nullptr;  // towards the least recently used
};

// What children and span events read of an open span, packed or not.
struct OpenSpanIdentity {
  const TraceId& trace_id;
  const SpanId& span_id;
  uint64_t start_time_unix_ns;
  uint16_t depth;
};

// An open span's full record or, while the span lives packed, the packed
// span's resource (a full record holds its own): never both, so one word
// holds either, told apart by its low bit (both are 8-byte aligned).
class OpenRecord {
 public:
  OpenRecord() noexcept = default;
  OpenRecord(const OpenRecord&) = delete;
  OpenRecord& operator=(const OpenRecord&) = delete;
  ~OpenRecord() { clear(); }

  // The full record, nullptr while packed (or empty).
  SpanRecord* full() const noexcept {
    return (bits_ & kPackedTag) != 0 ? nullptr : reinterpret_cast<SpanRecord*>(bits_);
  }
  void hold_full(SpanPtr span) noexcept {
    clear();
    bits_ = reinterpret_cast<uintptr_t>(span.release());
  }
  SpanPtr take_full() noexcept {
    SpanPtr span(full());
    if (span) bits_ = 0;
    return span;
  }
  // Packed: the record went back to the pool, its resource stays here.
  void hold_packed_resource(ResourceRef resource) noexcept {
    clear();
    bits_ = reinterpret_cast<uintptr_t>(resource.release_raw()) | kPackedTag;
  }
  ResourceRef take_packed_resource() noexcept {
    if ((bits_ & kPackedTag) == 0) return ResourceRef();
    Resource* const resource = reinterpret_cast<Resource*>(bits_ & ~kPackedTag);
    bits_ = 0;
    return ResourceRef::adopt_raw(resource);
  }

 private:
  static constexpr uintptr_t kPackedTag = 1;
  static_assert(alignof(SpanRecord) > kPackedTag && alignof(Resource) > kPackedTag);

  void clear() noexcept {
    if ((bits_ & kPackedTag) != 0) {
      take_packed_resource();  // dropped here
    } else {
      SpanPtr dropped = take_full();
    }
    bits_ = 0;
  }

  uintptr_t bits_ = 0;
};

// 100k of these may be open at once (the default max_open_spans), so every
// byte counts 100 kB: members are ordered so that nothing is padding, and the
// flags are bits (docs/performance.md, the memory target).
struct OpenSpan {
  IdString id;
  const FamilyInfo* family = nullptr;
  OpenRecord record;   // the full record, or the packed span's resource
  PackedSpan packed;   // valid while record.full() is null
  uint64_t deadline_mono = 0;
  uint64_t start_raw = 0;  // the start's CLOCK_MONOTONIC timestamp, 0 if it had none
  int64_t tid = 0;
  int64_t pid = 0;       // the start's process, 0 if it named none
  // Chain of open spans sharing an id (any family), newest first. Singly
  // linked: whoever unlinks one has just walked (or can walk) the chain from
  // its head, as every lookup by id does.
  OpenSpan* id_next = nullptr;
  OpenSpan* tid_prev = nullptr;  // chain of open spans of one thread, newest first
  OpenSpan* tid_next = nullptr;
  OpenSpan* nest_prev = nullptr;  // chain of open nesting parents of one thread, newest first
  OpenSpan* nest_next = nullptr;
  OpenSpan* fifo_prev = nullptr;  // arrival order == expiry order
  OpenSpan* fifo_next = nullptr;
  // For the console's tree view (SpanRecord::open_children): the open span
  // this one is a child of, valid while its `serial` still equals
  // `parent_serial` (nodes are recycled), and the children open under this one.
  OpenSpan* parent = nullptr;
  uint32_t parent_serial = 0;
  uint32_t serial = 0;   // 0 while the node is free
  uint32_t charged = 0;  // bytes charged to the MemoryBudget
  uint16_t open_children = 0;
  bool has_tid : 1 = false;
  bool nests : 1 = false;   // in the per-thread chain of nesting parents
  bool sampled : 1 = true;  // head sampler's decision, inherited by children

  OpenSpanIdentity identity() const noexcept {
    if (const SpanRecord* span = record.full()) {
      return {span->trace_id, span->span_id, span->start_time_unix_ns, span->depth};
    }
    return {packed.trace_id, packed.span_id, packed.start_time_unix_ns, packed.depth};
  }
};

// The memory target of docs/performance.md (<= 64 MiB peak RSS with 100k open
// spans) was met with these sizes; a member that grows them costs 100 kB per
// byte there: re-measure (pipeline_bench --open 100000) before raising them.
static_assert(sizeof(OpenSpan) <= 336, "OpenSpan grew: re-check the 100k-open-spans memory target (docs/performance.md)");

// Heads of the chains: open spans by correlation id, by thread id.
using OpenSpansById = FlatIndex<OpenSpan, &OpenSpan::id>;
using OpenSpansByThread = FlatIndex<OpenSpan, &OpenSpan::tid>;

// The newest open span with this id (any family) of process `pid` (0: any):
// request ids repeat across the processes of one binary.
inline OpenSpan* find_open_of(OpenSpansById& open_ids, std::string_view id, int64_t pid) noexcept {
  const OpenSpansById::Ref head = open_ids.find(id);
  if (!head) return nullptr;
  for (OpenSpan* entry = head.get(); entry != nullptr; entry = entry->id_next) {
    if (pid == 0 || entry->pid == 0 || entry->pid == pid) return entry;
  }
  return nullptr;
}

}  // namespace bto
