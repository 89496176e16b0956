#include "spans/correlator.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "spans/handlers/field_util.h"
#include "spans/recycling_map.h"

namespace bto {
namespace {

constexpr std::string_view kIncompleteKey = "bpftrace_otel.incomplete";
// Recently ended spans that a late child may still name as its parent.
constexpr size_t kEndedCapacity = 4096;
// Point events per span; beyond this they are counted and dropped.
constexpr size_t kMaxEventsPerSpan = 128;

enum class Incomplete : uint8_t { kTimeout, kEvicted, kSuperseded, kShutdown };

std::string_view reason_name(Incomplete reason) {
  switch (reason) {
    case Incomplete::kTimeout:
      return "timeout";
    case Incomplete::kEvicted:
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
    case Incomplete::kSuperseded:
      return "superseded by a new start with the same request_id";
    case Incomplete::kShutdown:
      return "no end event before the end of input";
  }
  return "incomplete";
}

// Single writer (the reader thread): a relaxed load+store avoids the locked
// read-modify-write of operator++ while readers still see whole values.
void bump(std::atomic<uint64_t>& counter, uint64_t count = 1) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + count, std::memory_order_relaxed);
}

// xoshiro256**: ids must be unpredictable enough not to collide across
// processes, not secret; one random_device read at start, no syscall per span.
class Rng {
 public:
  Rng() {
    uint64_t seed = 0;
    try {
      std::random_device device;
      seed = (static_cast<uint64_t>(device()) << 32) ^ device();
    } catch (...) {
      seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    seed ^= reinterpret_cast<uintptr_t>(this);
    for (uint64_t& word : state_) word = splitmix(seed);
  }

  uint64_t next() noexcept {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) noexcept {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_[4];
};

void put_u64(uint8_t* out, uint64_t value) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

// The correlation id as text: 42 and "42" are the same key. Returns false for
// a missing, empty, boolean or fractional id.
struct IdText {
  char buffer[24];
  std::string_view text;

  bool set(const FieldValue* value) noexcept {
    if (value == nullptr) return false;
    int64_t number = 0;
    switch (value->type) {
      case ValueType::kString:
        text = value->string_value;
        return !text.empty();
      case ValueType::kInt:
      case ValueType::kDouble:
        if (!handler_util::as_int(*value, number)) return false;
        {
          const auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
          text = std::string_view(buffer, static_cast<size_t>(result.ptr - buffer));
        }
        return true;
      case ValueType::kBool:
        return false;
    }
    return false;
  }
};

// The fields the correlator itself reads, found in one pass.
struct ReservedFields {
  const FieldValue* request_id = nullptr;
  const FieldValue* parent_id = nullptr;
  const FieldValue* timestamp = nullptr;
  const FieldValue* duration = nullptr;
  const FieldValue* tid = nullptr;

  explicit ReservedFields(const Event& event) noexcept {
    for (const EventField& field : event.fields) {
      const std::string_view key = field.key;
      if (key == "request_id") {
        request_id = &field.value;
      } else if (key == "parent_id") {
        parent_id = &field.value;
      } else if (key == "timestamp") {
        timestamp = &field.value;
      } else if (key == "duration") {
        duration = &field.value;
      } else if (key == "tid") {
        tid = &field.value;
      }
    }
  }
};

struct OpenSpan {
  std::string id;
  std::string family;
  SpanPtr span;
  EventHandler* handler = nullptr;
  uint64_t deadline_mono = 0;
  int64_t tid = 0;
  bool has_tid = false;
  OpenSpan* id_prev = nullptr;  // chain of open spans sharing an id (any family), newest first
  OpenSpan* id_next = nullptr;
  OpenSpan* tid_prev = nullptr;  // chain of open spans of one thread, newest first
  OpenSpan* tid_next = nullptr;
  OpenSpan* fifo_prev = nullptr;  // arrival order == expiry order
  OpenSpan* fifo_next = nullptr;
};

// An end whose start has not arrived (yet). Its fields are already applied to
// `span`; only the timing is kept apart until we know which case it is.
struct HeldEnd {
  std::string key;  // family + '\x1f' + id
  std::string id;
  SpanPtr span;
  uint64_t deadline_mono = 0;
  uint64_t arrival_unix = 0;
  uint64_t end_unix = 0;
  int64_t duration = 0;
  bool has_end_timestamp = false;
  bool has_duration = false;
  bool parent_missing = false;
  HeldEnd* prev = nullptr;
  HeldEnd* next = nullptr;
};

struct EndedSpan {
  std::string id;
  TraceId trace_id{};
  SpanId span_id{};
  uint16_t depth = 0;
  bool used = false;
};

template <typename T>
class NodePool {
 public:
  T* get() {
    if (!free_.empty()) {
      T* node = free_.back();
      free_.pop_back();
      return node;
    }
    return &storage_.emplace_back();
  }
  void put(T* node) { free_.push_back(node); }

 private:
  std::deque<T> storage_;  // stable addresses
  std::vector<T*> free_;
};

template <typename Map, typename Key>
void chain_push(Map& map, const Key& key, OpenSpan* entry, OpenSpan* OpenSpan::*prev,
                OpenSpan* OpenSpan::*next) {
  entry->*prev = nullptr;
  if (OpenSpan** head = map.find(key)) {
    entry->*next = *head;
    (*head)->*prev = entry;
    *head = entry;
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
    *map.find(key) = after;
  } else {
    map.erase(key);
  }
  if (after != nullptr) after->*prev = before;
  entry->*prev = nullptr;
  entry->*next = nullptr;
}

class CorrelatorImpl final : public Correlator {
 public:
  CorrelatorImpl(const CorrelatorOptions& options, HandlerRegistry& handlers, SpanPool& pool, SpanSink& sink,
                 TimestampConverter& clock, CorrelatorStats& stats)
      : max_open_(std::max<size_t>(options.max_open_spans, 1)),
        timeout_ns_(static_cast<uint64_t>(std::max<int64_t>(options.span_timeout.count(), 0))),
        orphan_hold_ns_(static_cast<uint64_t>(std::max<int64_t>(options.orphan_hold.count(), 0))),
        max_held_(options.max_held_orphans),
        handlers_(handlers),
        pool_(pool),
        sink_(sink),
        clock_(clock),
        stats_(stats),
        ended_(kEndedCapacity) {}

  ~CorrelatorImpl() override {
    // Unflushed records go back to the pool rather than being lost silently.
    for (OpenSpan* entry = fifo_head_; entry != nullptr; entry = entry->fifo_next) {
      pool_.release(std::move(entry->span));
    }
    for (HeldEnd* held = held_head_; held != nullptr; held = held->next) {
      pool_.release(std::move(held->span));
    }
  }

  void on_event(const Event& event) override {
    switch (event.phase) {
      case EventPhase::kStart:
        on_start(event);
        break;
      case EventPhase::kEnd:
        on_end(event);
        break;
      case EventPhase::kSingle:
        on_single(event);
        break;
    }
  }

  void on_lost_events(uint64_t count) override { bump(stats_.lost_events, count); }

  void sweep() override {
    const uint64_t now = clock_.now_monotonic_ns();
    while (fifo_head_ != nullptr && fifo_head_->deadline_mono <= now) {
      bump(stats_.spans_timed_out);
      incomplete_log_.warn("span {} timed out without an end event", quote_bytes(fifo_head_->family));
      finish_incomplete(fifo_head_, Incomplete::kTimeout, clock_.now_unix_ns());
    }
    while (held_head_ != nullptr && held_head_->deadline_mono <= now) resolve_held(held_head_);
  }

  void flush_all() override {
    while (fifo_head_ != nullptr) {
      bump(stats_.flushed_at_shutdown);
      finish_incomplete(fifo_head_, Incomplete::kShutdown, last_event_unix_);
    }
    while (held_head_ != nullptr) resolve_held(held_head_);
  }

 private:
  // ---- event phases -------------------------------------------------------

  void on_start(const Event& event) {
    const ReservedFields reserved(event);
    IdText id;
    if (!id.set(reserved.request_id)) return missing_id(event);
    EventHandler& handler = handlers_.handler_for(event.family);
    uint64_t start = 0;
    if (!timestamp_of(reserved, start)) start = clock_.now_unix_ns();
    note_event_time(start);

    if (OpenSpan* previous = find_open(event.family, id.text)) {
      bump(stats_.spans_superseded);
      incomplete_log_.warn("second start for {} request_id {}: the first is emitted as superseded",
                           quote_bytes(event.family), quote_bytes(id.text));
      finish_incomplete(previous, Incomplete::kSuperseded, last_event_unix_);
    } else if (open_count_ >= max_open_) {
      bump(stats_.spans_evicted);
      incomplete_log_.warn("{} open spans (max_open_spans): evicting the oldest", open_count_);
      finish_incomplete(fifo_head_, Incomplete::kEvicted, last_event_unix_);
    }

    SpanPtr span = pool_.acquire();
    handler.on_start(event, *span);
    span->start_time_unix_ns = start;
    assign_ids(reserved, *span, true);
    bump(stats_.spans_started);

    if (!held_index_.empty()) {
      make_held_key(event.family, id.text);
      if (HeldEnd** held = held_index_.find(std::string_view(key_scratch_))) {
        return pair_with_held(std::move(span), *held);
      }
    }

    OpenSpan* entry = open_pool_.get();
    entry->id.assign(id.text);
    entry->family.assign(event.family);
    entry->span = std::move(span);
    entry->handler = &handler;
    entry->deadline_mono = clock_.now_monotonic_ns() + timeout_ns_;
    entry->has_tid = reserved.tid != nullptr && reserved.tid->type == ValueType::kInt;
    entry->tid = entry->has_tid ? reserved.tid->int_value : 0;
    chain_push(open_ids_, std::string_view(entry->id), entry, &OpenSpan::id_prev, &OpenSpan::id_next);
    if (entry->has_tid) chain_push(open_tids_, entry->tid, entry, &OpenSpan::tid_prev, &OpenSpan::tid_next);
    entry->fifo_prev = fifo_tail_;
    entry->fifo_next = nullptr;
    (fifo_tail_ != nullptr ? fifo_tail_->fifo_next : fifo_head_) = entry;
    fifo_tail_ = entry;
    ++open_count_;
    stats_.open_spans.store(open_count_, std::memory_order_relaxed);
  }

  void on_end(const Event& event) {
    const ReservedFields reserved(event);
    IdText id;
    if (!id.set(reserved.request_id)) return missing_id(event);
    OpenSpan* entry = find_open(event.family, id.text);
    if (entry == nullptr) return hold_end(event, reserved, id.text);

    EventHandler& handler = *entry->handler;
    SpanPtr span = detach(entry);
    handler.on_end(event, *span);
    span->end_time_unix_ns = end_time(reserved, span->start_time_unix_ns);
    note_event_time(span->end_time_unix_ns);
    remember_ended(id.text, *span);
    bump(stats_.spans_ended);
    sink_.on_span_finished(std::move(span));
  }

  void on_single(const Event& event) {
    const ReservedFields reserved(event);
    int64_t duration = 0;
    const bool has_duration = duration_of(reserved, duration);
    uint64_t ts = 0;
    const bool has_timestamp = timestamp_of(reserved, ts);
    const uint64_t at = has_timestamp ? ts : clock_.now_unix_ns();

    if (!has_duration) {
      OpenSpan* target = nullptr;
      IdText parent;
      if (parent.set(reserved.parent_id)) {
        if (OpenSpan** head = open_ids_.find(parent.text)) target = *head;
      }
      if (target == nullptr && reserved.tid != nullptr && reserved.tid->type == ValueType::kInt) {
        if (OpenSpan** head = open_tids_.find(reserved.tid->int_value)) target = *head;
      }
      if (target != nullptr) {
        note_event_time(at);
        return add_span_event(event, at, *target->span);
      }
    }

    // A complete span: with a duration, `timestamp` is its start; without one
    // (a point event nothing is open for) it is a zero-length span.
    EventHandler& handler = handlers_.handler_for(event.family);
    SpanPtr span = pool_.acquire();
    handler.on_start(event, *span);
    handler.on_end(event, *span);
    const uint64_t length = static_cast<uint64_t>(duration);
    if (has_timestamp) {
      span->start_time_unix_ns = ts;
      span->end_time_unix_ns = ts + length;
    } else {
      span->end_time_unix_ns = at;
      span->start_time_unix_ns = at >= length ? at - length : 0;
    }
    note_event_time(span->end_time_unix_ns);
    assign_ids(reserved, *span, true);
    IdText id;
    if (id.set(reserved.request_id)) remember_ended(id.text, *span);
    bump(stats_.spans_single);
    sink_.on_span_finished(std::move(span));
  }

  // ---- orphan ends ----------------------------------------------------------

  void hold_end(const Event& event, const ReservedFields& reserved, std::string_view id) {
    make_held_key(event.family, id);
    if (HeldEnd** previous = held_index_.find(std::string_view(key_scratch_))) {
      resolve_held(*previous);  // two ends, no start: the first gives up now
    } else if (held_count_ >= max_held_ && held_head_ != nullptr) {
      bump(stats_.orphan_ends_evicted);
      resolve_held(held_head_);
    }
    if (max_held_ == 0) {
      bump(stats_.orphan_ends_evicted);
    }

    EventHandler& handler = handlers_.handler_for(event.family);
    HeldEnd* held = held_pool_.get();
    held->key.assign(key_scratch_);
    held->id.assign(id);
    held->span = pool_.acquire();
    handler.on_start(event, *held->span);
    handler.on_end(event, *held->span);
    held->arrival_unix = clock_.now_unix_ns();
    held->has_end_timestamp = timestamp_of(reserved, held->end_unix);
    held->has_duration = duration_of(reserved, held->duration);
    held->parent_missing = !assign_ids(reserved, *held->span, false);
    held->deadline_mono = clock_.now_monotonic_ns() + orphan_hold_ns_;
    note_event_time(held->has_end_timestamp ? held->end_unix : held->arrival_unix);

    held_index_.insert(std::string_view(held->key), held);
    held->prev = held_tail_;
    held->next = nullptr;
    (held_tail_ != nullptr ? held_tail_->next : held_head_) = held;
    held_tail_ = held;
    ++held_count_;
    if (max_held_ == 0) resolve_held(held);
  }

  // The start arrived after its end: the start's fields come first, the end's
  // (already applied to the held record) override them, as in the normal order.
  void pair_with_held(SpanPtr span, HeldEnd* held) {
    SpanRecord& end_fields = *held->span;
    for (const Attribute& attribute : end_fields.attributes.items()) {
      switch (attribute.type) {
        case AttrType::kString:
          span->attributes.set_string(attribute.key, attribute.string_value);
          break;
        case AttrType::kInt:
          span->attributes.set_int(attribute.key, attribute.int_value);
          break;
        case AttrType::kDouble:
          span->attributes.set_double(attribute.key, attribute.double_value);
          break;
        case AttrType::kBool:
          span->attributes.set_bool(attribute.key, attribute.bool_value);
          break;
      }
    }
    if (end_fields.status != StatusCode::kUnset) {
      span->status = end_fields.status;
      span->status_message.assign(end_fields.status_message);
    }
    const uint64_t start = span->start_time_unix_ns;
    uint64_t end = held->has_end_timestamp ? held->end_unix : held->arrival_unix;
    if (held->has_duration) end = start + static_cast<uint64_t>(held->duration);
    span->end_time_unix_ns = std::max(end, start);
    remember_ended(held->id, *span);
    unlink_held(held);
    bump(stats_.spans_ended);
    sink_.on_span_finished(std::move(span));
  }

  // Gives up waiting for the start: a span from the end's own fields if it has
  // a duration, otherwise a counted drop.
  void resolve_held(HeldEnd* held) {
    SpanPtr span = std::move(held->span);
    if (held->has_duration) {
      const uint64_t end = held->has_end_timestamp ? held->end_unix : held->arrival_unix;
      const uint64_t length = static_cast<uint64_t>(held->duration);
      span->end_time_unix_ns = end;
      span->start_time_unix_ns = end >= length ? end - length : 0;
      span->attributes.set_string(kIncompleteKey, "orphan_end");
      if (held->parent_missing) bump(stats_.parent_not_found);
      remember_ended(held->id, *span);
      bump(stats_.spans_from_orphan_end);
      unlink_held(held);
      sink_.on_span_finished(std::move(span));
      return;
    }
    bump(stats_.orphan_ends_dropped);
    orphan_log_.warn("end event for {} had no start and no duration: dropped",
                     quote_bytes(std::string_view(held->key).substr(0, held->key.find('\x1f'))));
    unlink_held(held);
    pool_.release(std::move(span));
  }

  void unlink_held(HeldEnd* held) {
    held_index_.erase(std::string_view(held->key));
    (held->prev != nullptr ? held->prev->next : held_head_) = held->next;
    (held->next != nullptr ? held->next->prev : held_tail_) = held->prev;
    held->prev = held->next = nullptr;
    held->span.reset();
    --held_count_;
    held_pool_.put(held);
  }

  void make_held_key(std::string_view family, std::string_view id) {
    key_scratch_.assign(family);
    key_scratch_.push_back('\x1f');
    key_scratch_.append(id);
  }

  // ---- open spans -----------------------------------------------------------

  OpenSpan* find_open(std::string_view family, std::string_view id) noexcept {
    OpenSpan** head = open_ids_.find(id);
    if (head == nullptr) return nullptr;
    for (OpenSpan* entry = *head; entry != nullptr; entry = entry->id_next) {
      if (entry->family == family) return entry;
    }
    return nullptr;
  }

  // Removes the entry from every index and returns its span.
  SpanPtr detach(OpenSpan* entry) {
    chain_remove(open_ids_, std::string_view(entry->id), entry, &OpenSpan::id_prev, &OpenSpan::id_next);
    if (entry->has_tid) chain_remove(open_tids_, entry->tid, entry, &OpenSpan::tid_prev, &OpenSpan::tid_next);
    (entry->fifo_prev != nullptr ? entry->fifo_prev->fifo_next : fifo_head_) = entry->fifo_next;
    (entry->fifo_next != nullptr ? entry->fifo_next->fifo_prev : fifo_tail_) = entry->fifo_prev;
    entry->fifo_prev = entry->fifo_next = nullptr;
    SpanPtr span = std::move(entry->span);
    entry->handler = nullptr;
    open_pool_.put(entry);
    --open_count_;
    stats_.open_spans.store(open_count_, std::memory_order_relaxed);
    return span;
  }

  void finish_incomplete(OpenSpan* entry, Incomplete reason, uint64_t end) {
    remember_ended(entry->id, *entry->span);  // before detach recycles entry->id
    SpanPtr span = detach(entry);
    span->status = StatusCode::kError;
    span->status_message.assign(reason_message(reason));
    span->attributes.set_string(kIncompleteKey, reason_name(reason));
    span->end_time_unix_ns = std::max(end, span->start_time_unix_ns);
    sink_.on_span_finished(std::move(span));
  }

  // ---- ids and parents ------------------------------------------------------

  // New ids; joins the trace of the span named by parent_id (open, or ended a
  // moment ago). Returns false when a parent was named but not found; counts
  // that only when `count_missing` (held orphans count it if they are emitted).
  bool assign_ids(const ReservedFields& reserved, SpanRecord& span, bool count_missing) {
    put_u64(span.span_id.data(), next_nonzero());
    IdText parent;
    // parent_id 0 or "" means "no parent" (what a script prints for roots).
    const bool named = parent.set(reserved.parent_id) && parent.text != "0";
    if (named) {
      if (OpenSpan** head = open_ids_.find(parent.text)) {
        const SpanRecord& parent_span = *(*head)->span;
        span.trace_id = parent_span.trace_id;
        span.parent_span_id = parent_span.span_id;
        span.depth = static_cast<uint16_t>(std::min<int>(parent_span.depth + 1, UINT16_MAX));
        return true;
      }
      if (const EndedSpan* ended = find_ended(parent.text)) {
        span.trace_id = ended->trace_id;
        span.parent_span_id = ended->span_id;
        span.depth = static_cast<uint16_t>(std::min<int>(ended->depth + 1, UINT16_MAX));
        return true;
      }
      if (count_missing) {
        bump(stats_.parent_not_found);
        parent_log_.warn("parent_id {} names no open or recently ended span; starting a new trace",
                         quote_bytes(parent.text));
      }
    }
    uint64_t high = 0;
    uint64_t low = 0;
    while (high == 0 && low == 0) {
      high = rng_.next();
      low = rng_.next();
    }
    put_u64(span.trace_id.data(), high);
    put_u64(span.trace_id.data() + 8, low);
    span.parent_span_id = {};
    span.depth = 0;
    return !named;
  }

  uint64_t next_nonzero() noexcept {
    uint64_t value = 0;
    while (value == 0) value = rng_.next();
    return value;
  }

  void remember_ended(std::string_view id, const SpanRecord& span) {
    EndedSpan& slot = ended_[ended_next_];
    if (slot.used) {
      uint32_t* index = ended_index_.find(std::string_view(slot.id));
      if (index != nullptr && *index == ended_next_) ended_index_.erase(std::string_view(slot.id));
    }
    slot.id.assign(id);
    slot.trace_id = span.trace_id;
    slot.span_id = span.span_id;
    slot.depth = span.depth;
    slot.used = true;
    if (uint32_t* index = ended_index_.find(id)) {
      *index = ended_next_;
    } else {
      ended_index_.insert(id, ended_next_);
    }
    ended_next_ = (ended_next_ + 1) % kEndedCapacity;
  }

  const EndedSpan* find_ended(std::string_view id) noexcept {
    const uint32_t* index = ended_index_.find(id);
    return index == nullptr ? nullptr : &ended_[*index];
  }

  // ---- fields ---------------------------------------------------------------

  bool timestamp_of(const ReservedFields& reserved, uint64_t& out) noexcept {
    int64_t value = 0;
    if (reserved.timestamp == nullptr || !handler_util::as_int(*reserved.timestamp, value) || value <= 0) {
      return false;
    }
    out = clock_.to_unix_ns(static_cast<uint64_t>(value));
    return true;
  }

  static bool duration_of(const ReservedFields& reserved, int64_t& out) noexcept {
    return reserved.duration != nullptr && handler_util::as_int(*reserved.duration, out) && out >= 0;
  }

  // start + duration, else the end's timestamp, else now; never before start.
  uint64_t end_time(const ReservedFields& reserved, uint64_t start) noexcept {
    int64_t duration = 0;
    if (duration_of(reserved, duration)) return start + static_cast<uint64_t>(duration);
    uint64_t end = 0;
    if (!timestamp_of(reserved, end)) end = clock_.now_unix_ns();
    return std::max(end, start);
  }

  // The latest start, end or point-event time so far: where spans given up at
  // shutdown, eviction or supersession end (never the replay's wall clock).
  void note_event_time(uint64_t unix_ns) noexcept { last_event_unix_ = std::max(last_event_unix_, unix_ns); }

  void add_span_event(const Event& event, uint64_t at, SpanRecord& span) {
    if (span.events.size() >= kMaxEventsPerSpan) {
      bump(stats_.span_events_dropped);
      return;
    }
    SpanEventRecord& record = span.events.emplace_back();
    record.name.assign(event.name);
    record.time_unix_ns = at;
    for (const EventField& field : event.fields) {
      if (handler_util::is_reserved(field.key)) continue;
      handler_util::set_attribute(record.attributes, field.key == "tid" ? "thread.id" : field.key,
                                  field.value);
    }
    bump(stats_.span_events);
  }

  void missing_id(const Event& event) {
    bump(stats_.missing_request_id);
    missing_id_log_.warn("{} has no usable request_id (string or integer): dropped", quote_bytes(event.name));
  }

  const size_t max_open_;
  const uint64_t timeout_ns_;
  const uint64_t orphan_hold_ns_;
  const size_t max_held_;
  HandlerRegistry& handlers_;
  SpanPool& pool_;
  SpanSink& sink_;
  TimestampConverter& clock_;
  CorrelatorStats& stats_;
  Rng rng_;

  NodePool<OpenSpan> open_pool_;
  RecyclingMap<std::string, OpenSpan*, TransparentStringHash> open_ids_;
  RecyclingMap<int64_t, OpenSpan*> open_tids_;
  OpenSpan* fifo_head_ = nullptr;
  OpenSpan* fifo_tail_ = nullptr;
  size_t open_count_ = 0;

  NodePool<HeldEnd> held_pool_;
  RecyclingMap<std::string, HeldEnd*, TransparentStringHash> held_index_;
  HeldEnd* held_head_ = nullptr;
  HeldEnd* held_tail_ = nullptr;
  size_t held_count_ = 0;
  std::string key_scratch_;

  std::vector<EndedSpan> ended_;
  RecyclingMap<std::string, uint32_t, TransparentStringHash> ended_index_;
  uint32_t ended_next_ = 0;

  uint64_t last_event_unix_ = 0;

  RateLimitedLog missing_id_log_;
  RateLimitedLog parent_log_;
  RateLimitedLog incomplete_log_;
  RateLimitedLog orphan_log_;
};

}  // namespace

std::unique_ptr<Correlator> create_correlator(const CorrelatorOptions& options, HandlerRegistry& handlers,
                                              SpanPool& pool, SpanSink& sink, TimestampConverter& clock,
                                              CorrelatorStats& stats) {
  return std::make_unique<CorrelatorImpl>(options, handlers, pool, sink, clock, stats);
}

}  // namespace bto
