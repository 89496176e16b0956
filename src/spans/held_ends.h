#pragma once
// Private to spans/: the end-before-start hold. Per-CPU buffers can deliver
// an end before its start; such an end is held (bounded in time and number)
// until its start arrives and the two are paired, or until the hold runs out:
// then a span from the end's own fields if it has a duration, else a counted
// drop.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/log.h"
#include "spans/clock.h"
#include "spans/correlator.h"
#include "spans/flat_index.h"
#include "spans/node_pool.h"
#include "spans/open_span.h"
#include "spans/parent_links.h"
#include "spans/reserved_fields.h"
#include "spans/span_emitter.h"

namespace bto {

// An end whose start has not arrived (yet). Its fields are already applied to
// `span`; only the timing is kept apart until we know which case it is.
struct HeldEnd {
  std::string key;  // family + '\x1f' + id
  std::string id;
  int64_t pid = 0;  // the end's process, 0 if it named none
  const FamilyInfo* family = nullptr;
  SpanPtr span;
  uint64_t deadline_mono = 0;
  uint64_t arrival_unix = 0;
  uint64_t end_unix = 0;
  uint64_t end_raw = 0;  // CLOCK_MONOTONIC timestamp, 0 if none
  int64_t duration = 0;
  uint32_t charged = 0;  // bytes charged to the MemoryBudget (as open span state)
  bool has_end_timestamp = false;
  bool has_duration = false;
  bool parent_missing = false;
  bool sampled = true;
  HeldEnd* prev = nullptr;
  HeldEnd* next = nullptr;
};

class HeldEnds {
 public:
  HeldEnds(const CorrelatorOptions& options, TimestampConverter& clock, SpanEmitter& emitter, ParentLinks& parents,
           CorrelatorStats& stats)
      : hold_ns_(static_cast<uint64_t>(std::max<int64_t>(options.orphan_hold.count(), 0))),
        max_held_(options.max_held_orphans),
        clock_(clock),
        emitter_(emitter),
        parents_(parents),
        stats_(stats) {}
  ~HeldEnds();
  HeldEnds(const HeldEnds&) = delete;
  HeldEnds& operator=(const HeldEnds&) = delete;

  // Holds an end that found no open start; `resource` is its process's.
  // Returns the event's time (its timestamp, else its arrival) for the
  // correlator's latest-event clock.
  uint64_t hold_end(const Event& event, const FamilyInfo& family, const ReservedFields& reserved,
                    std::string_view id, const ResourceRef& resource);

  // The end held for this start (of process `pid`, 0 if unknown), or
  // nullptr. Inline: every start asks.
  HeldEnd* find(std::string_view family, std::string_view id, int64_t pid) {
    if (index_.empty()) return nullptr;
    make_key(family, id);
    const auto held = index_.find(std::string_view(key_scratch_));
    return !held || !same_process(held.get()->pid, pid) ? nullptr : held.get();
  }

  // The end held for a start of process `pid` at `start_unix` (0: the start has no timestamp;
  // `start_raw`: its CLOCK_MONOTONIC value, 0 if none), or nullptr. A held end
  // that is earlier than the start cannot be this start's end (its own start
  // was lost): it is resolved now, as an orphan, and the start opens a span of
  // its own. Otherwise one lost start would pair every later start of the id
  // with the previous end (0-ns spans), each span's own end held for the next.
  HeldEnd* find_for_start(std::string_view family, std::string_view id, int64_t pid, uint64_t start_unix,
                          uint64_t start_raw) {
    HeldEnd* held = find(family, id, pid);
    if (held == nullptr || start_unix == 0 || !held->has_end_timestamp) return held;
    const bool start_is_later =
        start_raw != 0 && held->end_raw != 0 ? start_raw > held->end_raw : start_unix > held->end_unix;
    if (!start_is_later) return held;
    resolve_held(held);
    return nullptr;
  }

  // The start arrived after its end: the paired span is emitted.
  void pair_with_held(SpanPtr span, HeldEnd* held, uint64_t start_raw, bool sampled, const FamilyInfo& family);

  // Gives up on every end whose hold ran out by `now_mono`.
  void expire(uint64_t now_mono) {
    while (head_ != nullptr && head_->deadline_mono <= now_mono) resolve_held(head_);
  }
  // End of input: gives up on all of them.
  void resolve_all() {
    while (head_ != nullptr) resolve_held(head_);
  }

 private:
  void resolve_held(HeldEnd* held);
  void unlink_held(HeldEnd* held);

  void make_key(std::string_view family, std::string_view id) {
    key_scratch_.assign(family);
    key_scratch_.push_back('\x1f');
    key_scratch_.append(id);
  }

  const uint64_t hold_ns_;
  const size_t max_held_;
  TimestampConverter& clock_;
  SpanEmitter& emitter_;
  ParentLinks& parents_;
  CorrelatorStats& stats_;
  NodePool<HeldEnd> pool_;
  FlatIndex<HeldEnd, &HeldEnd::key> index_;
  HeldEnd* head_ = nullptr;  // arrival order == expiry order
  HeldEnd* tail_ = nullptr;
  size_t count_ = 0;
  std::string key_scratch_;
  RateLimitedLog orphan_log_;
};

}  // namespace bto
