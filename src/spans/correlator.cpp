// The pairing core: start/end/single events, the open spans and their chains
// (by id, thread, nesting parent, arrival), timeouts, eviction and shutdown.
// The rest lives in rooms of its own: reserved_fields.h (what an event says
// about ids and time), parent_links (ids, parents, recently ended spans),
// held_ends (ends that came before their starts), span_emitter (records in
// and out: limits, sampling, the sink), trace_context (W3C parsing, ids).

#include "spans/correlator.h"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/counter.h"
#include "common/log.h"
#include "spans/family_table.h"
#include "spans/flat_index.h"
#include "spans/handlers/field_util.h"
#include "spans/held_ends.h"
#include "spans/node_pool.h"
#include "spans/open_span.h"
#include "spans/packed_span.h"
#include "spans/parent_links.h"
#include "spans/recorded_spans.h"
#include "spans/recycling_map.h"
#include "spans/reserved_fields.h"
#include "spans/span_emitter.h"

namespace bto {
namespace {

enum class Incomplete : uint8_t { kTimeout, kEvicted, kEvictedMemory, kSuperseded, kShutdown };

std::string_view reason_name(Incomplete reason) {
  switch (reason) {
    case Incomplete::kTimeout:
      return "timeout";
    case Incomplete::kEvicted:
    case Incomplete::kEvictedMemory:
      return "evicted";
    case Incomplete::kSuperseded:
      return "superseded";
    case Incomplete::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

std::string_view reason_message(Incomplete reason) {
  switch (reason) {
    case Incomplete::kTimeout:
      return "no end event within the span timeout";
    case Incomplete::kEvicted:
      return "evicted: too many open spans (max_open_spans)";
    case Incomplete::kEvictedMemory:
      return "evicted: span state over its memory budget (max_memory)";
    case Incomplete::kSuperseded:
      return "superseded by a new start with the same request_id";
    case Incomplete::kShutdown:
      return "no end event before the end of input";
  }
  return "incomplete";
}

template <typename Map, typename Key>
void chain_push(Map& map, const Key& key, OpenSpan* entry, OpenSpan* OpenSpan::*prev,
                OpenSpan* OpenSpan::*next) {
  entry->*prev = nullptr;
  if (const auto head = map.find(key)) {
    entry->*next = head.get();
    head.get()->*prev = entry;
    head.set(entry);
  } else {
    entry->*next = nullptr;
    map.insert(key, entry);
  }
}

template <typename Map, typename Key>
void chain_remove(Map& map, const Key& key, OpenSpan* entry, OpenSpan* OpenSpan::*prev,
                  OpenSpan* OpenSpan::*next) {
  OpenSpan* before = entry->*prev;
  OpenSpan* after = entry->*next;
  if (before != nullptr) {
    before->*next = after;
  } else if (after != nullptr) {
    map.find(key).set(after);
  } else {
    map.erase(key);
  }
  if (after != nullptr) after->*prev = before;
  entry->*prev = nullptr;
  entry->*next = nullptr;
}

// Out of the singly linked chain by id: its head is found by hash unless
// the caller has just found it (`head`: its slot, nothing inserted or erased
// since); an entry behind the head is reached by the walk that every lookup
// by this id makes anyway.
void id_chain_remove(OpenSpansById& map, OpenSpan* entry, OpenSpansById::Ref head) noexcept {
  if (!head) head = map.find(std::string_view(entry->id));
  if (head.get() == entry) {
    if (entry->id_next != nullptr) {
      head.set(entry->id_next);
    } else {
      map.erase_found(head);
    }
  } else {
    OpenSpan* before = head.get();
    while (before->id_next != entry) before = before->id_next;
    before->id_next = entry->id_next;
  }
  entry->id_next = nullptr;
}

class CorrelatorImpl final : public Correlator {
 public:
  CorrelatorImpl(const CorrelatorOptions& options, HandlerRegistry& handlers, SpanPool& pool, SpanSink& sink,
                 TimestampConverter& clock, CorrelatorStats& stats, ResourceResolver* resources)
      : resources_(resources),
        default_resource_(resources != nullptr ? resources->resource_of(0) : ResourceRef()),
        max_open_(std::max<size_t>(options.max_open_spans, 1)),
        pack_above_(options.pack_open_spans_above),
        timeout_ns_(static_cast<uint64_t>(std::max<int64_t>(options.span_timeout.count(), 0))),
        budget_(pool.budget()),
        clock_(clock),
        stats_(stats),
        emitter_(options.limits, options.sampler, pool, sink, stats),
        families_(handlers, options.nesting_families, options.max_families, stats),
        parents_(open_ids_, open_nests_, options.auto_nesting, emitter_.sampler(), stats),
        held_(options, clock, emitter_, parents_, stats),
        recorded_(emitter_, stats) {}

  ~CorrelatorImpl() override {
    // Unflushed records go back to the pool rather than being lost silently.
    for (OpenSpan* entry = fifo_head_; entry != nullptr; entry = entry->fifo_next) {
      if (SpanPtr span = entry->record.take_full()) emitter_.release(std::move(span));
    }
  }

  void on_event(const Event& event) override {
    const FamilyInfo* family = families_.find(event.family);
    if (family == nullptr) {
      bump(stats_.families_rejected);
      family_log_.warn("{} event families, all in use (max_families): event {} dropped", families_.junk_count(),
                       quote_bytes(event.name));
      return;
    }
    switch (event.phase) {
      case EventPhase::kStart:
        on_start(event, *family);
        break;
      case EventPhase::kEnd:
        on_end(event, *family);
        break;
      case EventPhase::kSingle:
        on_single(event, *family);
        break;
    }
  }

  void on_lost_events(uint64_t count) override { bump(stats_.lost_events, count); }

  void on_recorded_span(const RecordedResource& resource, const RecordedSpan& span) override {
    note_event_time(span.end_time_unix_ns);
    recorded_.add(resource, span);
  }

  void set_observer(SpanObserver* observer) noexcept override { emitter_.set_observer(observer); }

  void sweep() override {
    const uint64_t now = clock_.now_monotonic_ns();
    while (fifo_head_ != nullptr && fifo_head_->deadline_mono <= now) {
      bump(stats_.spans_timed_out);
      incomplete_log_.warn("span {} timed out without an end event", quote_bytes(fifo_head_->family->name));
      finish_incomplete(fifo_head_, Incomplete::kTimeout, clock_.now_unix_ns());
    }
    held_.expire(now);
  }

  void flush_all() override {
    while (fifo_head_ != nullptr) {
      bump(stats_.flushed_at_shutdown);
      finish_incomplete(fifo_head_, Incomplete::kShutdown, last_event_unix_);
    }
    held_.resolve_all();
  }

 private:
  // ---- event phases -------------------------------------------------------

  void on_start(const Event& event, const FamilyInfo& family) {
    const ReservedFields reserved(event);
    IdText id;
    if (!correlation_ids_.read(event, family.key_fields, reserved, id)) return missing_id(event, family);
    EventHandler& handler = *family.handler;
    uint64_t start = 0;
    uint64_t start_raw = 0;
    const bool has_timestamp = timestamp_of(reserved, clock_, start, start_raw);
    if (!has_timestamp) start = arrival_time();
    note_event_time(start);

    const int64_t pid = reserved.process_id();
    make_room(family, id.text, pid);

    SpanPtr span = emitter_.acquire();
    attach_resource(*span, pid);
    handler.on_start(event, *span);
    emitter_.cap_text(span->name);
    span->start_time_unix_ns = start;
    bool sampled = true;
    OpenSpan* open_parent = nullptr;
    parents_.assign_ids(reserved, family, *span, true, sampled, &open_parent);
    bump(stats_.spans_started);

    if (HeldEnd* held = held_.find_for_start(event.family, id.text, pid, has_timestamp ? start : 0, start_raw)) {
      return held_.pair_with_held(std::move(span), held, start_raw, sampled, family);
    }

    OpenSpan* entry = keep_open(std::move(span), id.text, family, reserved, pid, start_raw, sampled);
    if (open_parent != nullptr && open_parent->serial != 0) {
      entry->parent = open_parent;
      entry->parent_serial = open_parent->serial;
      if (open_parent->open_children < UINT16_MAX) ++open_parent->open_children;
    }
    if (budget_ != nullptr && budget_->over()) shed_for_memory();
  }

  void on_end(const Event& event, const FamilyInfo& family) {
    const ReservedFields reserved(event);
    IdText id;
    if (!correlation_ids_.read(event, family.key_fields, reserved, id)) return missing_id(event, family);
    const int64_t pid = reserved.process_id();
    OpenSpansById::Ref id_head;
    OpenSpan* entry = find_open(family, id.text, pid, &id_head);
    if (entry == nullptr) {
      const ResourceRef& resource = resources_ != nullptr ? resources_->resource_of(pid) : no_resource_;
      return note_event_time(held_.hold_end(event, family, reserved, id.text, resource));
    }

    EventHandler& handler = *entry->family->handler;
    const uint64_t start_raw = entry->start_raw;
    const bool sampled = entry->sampled;
    const int64_t span_pid = entry->pid != 0 ? entry->pid : pid;
    SpanPtr span = detach(entry, id_head);
    if (pid != 0 && !span->resource) attach_resource(*span, pid);  // the start named no process
    handler.on_end(event, *span);
    uint64_t early_ns = 0;
    const uint64_t end = end_time(reserved, span->start_time_unix_ns, start_raw, early_ns);
    emitter_.set_end(*span, end, early_ns);
    note_event_time(span->end_time_unix_ns);
    parents_.remember_ended(id.text, span_pid, *span, sampled);
    bump(stats_.spans_ended);
    emitter_.emit(std::move(span), sampled, family.name);
  }

  void on_single(const Event& event, const FamilyInfo& family) {
    const ReservedFields reserved(event);
    int64_t duration = 0;
    const bool has_duration = duration_of(reserved, duration);
    uint64_t ts = 0;
    uint64_t ts_raw = 0;
    const bool has_timestamp = timestamp_of(reserved, clock_, ts, ts_raw);
    const uint64_t at = has_timestamp ? ts : arrival_time();

    const int64_t pid = reserved.process_id();
    if (!has_duration) {
      OpenSpan* target = nullptr;
      IdText parent;
      if (parent.set(reserved.parent_id)) target = find_open_of(open_ids_, parent.text, pid);
      if (target == nullptr && reserved.has_tid()) {
        if (const auto head = open_tids_.find(reserved.tid->int_value)) target = head.get();
      }
      if (target != nullptr) {
        // Measured from the span's own monotonic start, as end times are.
        uint64_t event_at = at;
        if (ts_raw != 0 && target->start_raw != 0) {
          event_at = target->identity().start_time_unix_ns +
                     static_cast<uint64_t>(static_cast<int64_t>(ts_raw - target->start_raw));
        }
        note_event_time(event_at);
        refund(*target);
        add_span_event(event, event_at, materialize(*target));
        charge(*target);
        if (budget_ != nullptr && budget_->over()) shed_for_memory();
        return;
      }
    }

    // A complete span: with a duration, `timestamp` is its start; without one
    // (a point event nothing is open for) it is a zero-length span.
    EventHandler& handler = *family.handler;
    SpanPtr span = emitter_.acquire();
    attach_resource(*span, pid);
    apply_both_phases(handler, event, *span);
    const uint64_t length = static_cast<uint64_t>(duration);
    if (has_timestamp) {
      span->start_time_unix_ns = ts;
      span->end_time_unix_ns = ts + length;
    } else {
      span->end_time_unix_ns = at;
      span->start_time_unix_ns = at >= length ? at - length : 0;
    }
    note_event_time(span->end_time_unix_ns);
    bool sampled = true;
    parents_.assign_ids(reserved, family, *span, true, sampled);
    IdText id;
    if (correlation_ids_.read(event, family.key_fields, reserved, id)) {
      parents_.remember_ended(id.text, pid, *span, sampled);
    }
    bump(stats_.spans_single);
    emitter_.emit(std::move(span), sampled, family.name);
  }

  // ---- open spans -----------------------------------------------------------

  // The open span of this family, id and process (request ids repeat across
  // the processes of one binary; pid 0: any). `head_slot`, when given, gets
  // the chain's slot in open_ids_ (for detach).
  OpenSpan* find_open(const FamilyInfo& family, std::string_view id, int64_t pid,
                      OpenSpansById::Ref* head_slot = nullptr) noexcept {
    const OpenSpansById::Ref head = open_ids_.find(id);
    if (!head) return nullptr;
    if (head_slot != nullptr) *head_slot = head;
    for (OpenSpan* entry = head.get(); entry != nullptr; entry = entry->id_next) {
      if (entry->family == &family && same_process(entry->pid, pid)) return entry;
    }
    return nullptr;
  }

  // The span's resource: its process's (src/resource/), looked up by pid; a
  // span naming no process gets the resolver's default, asked for once.
  void attach_resource(SpanRecord& span, int64_t pid) {
    if (pid == 0) {
      if (default_resource_) span.resource = default_resource_;
    } else if (resources_ != nullptr) {
      span.resource = resources_->resource_of(pid);
    }
  }

  // A second start with the same id supersedes the first; at max_open_spans
  // the oldest open span is evicted.
  void make_room(const FamilyInfo& family, std::string_view id, int64_t pid) {
    if (OpenSpan* previous = find_open(family, id, pid)) {
      bump(stats_.spans_superseded);
      incomplete_log_.warn("second start for {} request_id {}: the first is emitted as superseded",
                           quote_bytes(family.name), quote_bytes(id));
      finish_incomplete(previous, Incomplete::kSuperseded, last_event_unix_);
    } else if (open_count_ >= max_open_) {
      bump(stats_.spans_evicted);
      incomplete_log_.warn("{} open spans (max_open_spans): evicting the oldest", open_count_);
      finish_incomplete(fifo_head_, Incomplete::kEvicted, last_event_unix_);
    }
  }

  // Into every index: by id, thread, nesting parent and arrival (= expiry) order.
  // Beyond pack_open_spans_above the record is packed and goes back as spare.
  OpenSpan* keep_open(SpanPtr span, std::string_view id, const FamilyInfo& family, const ReservedFields& reserved,
                      int64_t pid, uint64_t start_raw, bool sampled) {
    OpenSpan* entry = open_pool_.get();
    entry->id.assign(id);
    entry->family = &family;
    entry->pid = pid;
    entry->serial = ++next_serial_ == 0 ? ++next_serial_ : next_serial_;
    entry->parent = nullptr;
    entry->parent_serial = 0;
    entry->open_children = 0;
    ++family.users;
    if (open_count_ >= pack_above_ && pack_open_span(*span, entry->packed)) {
      entry->record.hold_packed_resource(std::move(span->resource));
      emitter_.keep_spare(std::move(span));
    } else {
      entry->record.hold_full(std::move(span));
    }
    entry->deadline_mono = clock_.now_monotonic_ns() + timeout_ns_;
    entry->start_raw = start_raw;
    entry->sampled = sampled;
    entry->has_tid = reserved.has_tid();
    entry->tid = entry->has_tid ? reserved.tid->int_value : 0;
    entry->nests = entry->has_tid && family.nests;
    bool first_of_id = false;
    const OpenSpansById::Ref id_head = open_ids_.find_or_insert(std::string_view(entry->id), entry, first_of_id);
    entry->id_next = first_of_id ? nullptr : id_head.get();
    id_head.set(entry);
    if (entry->has_tid) chain_push(open_tids_, entry->tid, entry, &OpenSpan::tid_prev, &OpenSpan::tid_next);
    if (entry->nests) chain_push(open_nests_, entry->tid, entry, &OpenSpan::nest_prev, &OpenSpan::nest_next);
    entry->fifo_prev = fifo_tail_;
    entry->fifo_next = nullptr;
    (fifo_tail_ != nullptr ? fifo_tail_->fifo_next : fifo_head_) = entry;
    fifo_tail_ = entry;
    ++open_count_;
    stats_.open_spans.store(open_count_, std::memory_order_relaxed);
    charge(*entry);
    return entry;
  }

  // ---- memory budget --------------------------------------------------------

  void charge(OpenSpan& entry) noexcept {
    if (budget_ == nullptr) return;
    const SpanRecord* full = entry.record.full();
    const size_t bytes = sizeof(OpenSpan) + entry.id.heap_capacity() + (full != nullptr ? span_record_bytes(*full) : 0);
    entry.charged = static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX));
    budget_->charge_open(entry.charged);
  }

  void refund(OpenSpan& entry) noexcept {
    if (budget_ == nullptr) return;
    budget_->refund_open(entry.charged);
    entry.charged = 0;
  }

  // Over the budget: the oldest open spans are emitted (error, evicted) until
  // the total fits. Queued spans hold at most half the budget
  // (BatchProcessor), so open spans always keep the other half.
  void shed_for_memory() {
    while (fifo_head_ != nullptr && budget_->over() && budget_->open_bytes() > 0) {
      bump(stats_.spans_evicted);
      bump(stats_.spans_evicted_memory);
      incomplete_log_.warn("span state over max_memory ({} bytes open, {} queued): evicting the oldest open span",
                           budget_->open_bytes(), budget_->queued_bytes());
      finish_incomplete(fifo_head_, Incomplete::kEvictedMemory, last_event_unix_);
    }
  }

  // Removes the entry from every index and returns its span. `id_head`: its
  // id chain's slot, if just found (find_open), else empty.
  SpanPtr detach(OpenSpan* entry, OpenSpansById::Ref id_head = {}) {
    id_chain_remove(open_ids_, entry, id_head);
    if (entry->has_tid) chain_remove(open_tids_, entry->tid, entry, &OpenSpan::tid_prev, &OpenSpan::tid_next);
    if (entry->nests) chain_remove(open_nests_, entry->tid, entry, &OpenSpan::nest_prev, &OpenSpan::nest_next);
    (entry->fifo_prev != nullptr ? entry->fifo_prev->fifo_next : fifo_head_) = entry->fifo_next;
    (entry->fifo_next != nullptr ? entry->fifo_next->fifo_prev : fifo_tail_) = entry->fifo_prev;
    entry->fifo_prev = entry->fifo_next = nullptr;
    refund(*entry);
    materialize(*entry);
    SpanPtr span = entry->record.take_full();
    // What the tree view needs: this span's children still open; and one
    // child fewer open under its parent, if that is still open.
    span->open_children = entry->open_children;
    if (entry->parent != nullptr && entry->parent->serial == entry->parent_serial && entry->parent->open_children > 0) {
      --entry->parent->open_children;
    }
    entry->serial = 0;
    --entry->family->users;
    entry->family = nullptr;
    open_pool_.put(entry);
    --open_count_;
    stats_.open_spans.store(open_count_, std::memory_order_relaxed);
    return span;
  }

  void finish_incomplete(OpenSpan* entry, Incomplete reason, uint64_t end) {
    const bool sampled = entry->sampled;
    const FamilyInfo& family = *entry->family;
    parents_.remember_ended(entry->id, entry->pid, materialize(*entry), sampled);  // before detach recycles entry->id
    SpanPtr span = detach(entry);
    span->status = StatusCode::kError;
    span->status_message.assign(reason_message(reason));
    span->attributes.set_reserved_string(kIncompleteKey, reason_name(reason));
    span->end_time_unix_ns = std::max(end, span->start_time_unix_ns);
    emitter_.emit(std::move(span), sampled, family.name);
  }

  // An open span's full record: unpacked on first need (its end, a span event,
  // an eviction), then kept.
  SpanRecord& materialize(OpenSpan& entry) {
    if (SpanRecord* full = entry.record.full()) return *full;
    SpanPtr span = emitter_.acquire();
    unpack_open_span(entry.packed, *span);
    span->resource = entry.record.take_packed_resource();
    SpanRecord& unpacked = *span;
    entry.record.hold_full(std::move(span));
    return unpacked;
  }

  // ---- fields ---------------------------------------------------------------

  // The time of an event that carries no timestamp: now. Noted, so that the
  // reader keeps such events waiting no longer than read_coalesce.
  uint64_t arrival_time() noexcept {
    stats_.note_arrival_time();
    return clock_.now_unix_ns();
  }

  // start + duration, else the end's timestamp, else now (SpanEmitter::set_end
  // keeps it from preceding the start). Two monotonic timestamps give
  // start + (end - start) exactly, so a refresh of the monotonic -> wall
  // offset between them cannot stretch the span; `early_ns` says by how much
  // such an end came before its start.
  uint64_t end_time(const ReservedFields& reserved, uint64_t start, uint64_t start_raw, uint64_t& early_ns) noexcept {
    int64_t duration = 0;
    if (duration_of(reserved, duration)) return start + static_cast<uint64_t>(duration);
    uint64_t end = 0;
    uint64_t end_raw = 0;
    if (!timestamp_of(reserved, clock_, end, end_raw)) end = arrival_time();
    if (start_raw != 0 && end_raw != 0) {
      if (end_raw >= start_raw) return start + (end_raw - start_raw);
      early_ns = start_raw - end_raw;
      return start;
    }
    return end;
  }

  // The latest start, end or point-event time so far: where spans given up at
  // shutdown, eviction or supersession end (never the replay's wall clock).
  void note_event_time(uint64_t unix_ns) noexcept { last_event_unix_ = std::max(last_event_unix_, unix_ns); }

  void add_span_event(const Event& event, uint64_t at, SpanRecord& span) {
    if (span.events.size() >= emitter_.limits().event_count) {
      bump(stats_.span_events_dropped);
      return;
    }
    SpanEventRecord& record = span.events.emplace_back();
    record.attributes.set_limits(emitter_.limits().attribute_count, emitter_.limits().attribute_value_length);
    record.name.assign(event.name);
    record.time_unix_ns = at;
    for (const EventField& field : event.fields) {
      if (handler_util::is_reserved(field.key)) continue;
      handler_util::set_attribute(record.attributes, field.key == "tid" ? "thread.id" : field.key,
                                  field.value);
    }
    bump(stats_.span_events);
  }

  void missing_id(const Event& event, const FamilyInfo& family) {
    bump(stats_.missing_request_id);
    if (family.key_fields.empty()) {
      missing_id_log_.warn("{} has no usable request_id (string or integer): dropped", quote_bytes(event.name));
    } else {
      missing_id_log_.warn("{} lacks one of its key fields (or a value is too long): dropped",
                           quote_bytes(event.name));
    }
  }

  ResourceResolver* const resources_;  // nullptr: every span gets the exporter's own resource
  const ResourceRef no_resource_;
  const ResourceRef default_resource_;  // of spans naming no process (--pid: the target's)
  const size_t max_open_;
  const size_t pack_above_;
  const uint64_t timeout_ns_;
  MemoryBudget* budget_;  // null: no byte accounting
  TimestampConverter& clock_;
  CorrelatorStats& stats_;
  SpanEmitter emitter_;

  FamilyTable families_;

  NodePool<OpenSpan> open_pool_;
  OpenSpansById open_ids_;
  OpenSpansByThread open_tids_;
  OpenSpansByThread open_nests_;
  OpenSpan* fifo_head_ = nullptr;
  OpenSpan* fifo_tail_ = nullptr;
  size_t open_count_ = 0;
  uint32_t next_serial_ = 0;

  ParentLinks parents_;  // reads open_ids_ and open_nests_
  HeldEnds held_;
  RecordedSpans recorded_;
  CorrelationIdReader correlation_ids_;
  uint64_t last_event_unix_ = 0;

  RateLimitedLog missing_id_log_;
  RateLimitedLog incomplete_log_;
  RateLimitedLog family_log_;
};

}  // namespace

std::unique_ptr<Correlator> create_correlator(const CorrelatorOptions& options, HandlerRegistry& handlers,
                                              SpanPool& pool, SpanSink& sink, TimestampConverter& clock,
                                              CorrelatorStats& stats, ResourceResolver* resources) {
  return std::make_unique<CorrelatorImpl>(options, handlers, pool, sink, clock, stats, resources);
}

}  // namespace bto
