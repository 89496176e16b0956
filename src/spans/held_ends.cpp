#include "spans/held_ends.h"

#include <algorithm>

#include "common/counter.h"

namespace bto {
namespace {

// The end's attributes over the start's, as in the normal order of phases.
void apply_end_fields(const SpanRecord& end_fields, SpanRecord& span) {
  for (const Attribute& attribute : end_fields.attributes.items()) {
    switch (attribute.type) {
      case AttrType::kString:
        span.attributes.set_string(attribute.key, attribute.string_value);
        break;
      case AttrType::kInt:
        span.attributes.set_int(attribute.key, attribute.int_value);
        break;
      case AttrType::kDouble:
        span.attributes.set_double(attribute.key, attribute.double_value);
        break;
      case AttrType::kBool:
        span.attributes.set_bool(attribute.key, attribute.bool_value);
        break;
    }
  }
  // What the end's record already dropped is counted with this span (values
  // it cut were copied cut, and are counted again if still too long).
  span.attributes.set_dropped(span.attributes.dropped() + end_fields.attributes.dropped());
  if (end_fields.status != StatusCode::kUnset) {
    span.status = end_fields.status;
    span.status_message.assign(end_fields.status_message);
  }
}

}  // namespace

HeldEnds::~HeldEnds() {
  // Unflushed records go back to the pool rather than being lost silently.
  for (HeldEnd* held = head_; held != nullptr; held = held->next) emitter_.release(std::move(held->span));
}

uint64_t HeldEnds::hold_end(const Event& event, const FamilyInfo& family, const ReservedFields& reserved,
                            std::string_view id, const ResourceRef& resource) {
  make_key(event.family, id);
  if (const auto previous = index_.find(std::string_view(key_scratch_))) {
    resolve_held(previous.get());  // two ends, no start: the first gives up now
  } else if (count_ >= max_held_ && head_ != nullptr) {
    bump(stats_.orphan_ends_evicted);
    resolve_held(head_);
  }
  if (max_held_ == 0) {
    bump(stats_.orphan_ends_evicted);
  }

  HeldEnd* held = pool_.get();
  held->key.assign(key_scratch_);
  held->id.assign(id);
  held->pid = reserved.process_id();
  held->family = &family;
  ++family.users;
  held->span = emitter_.acquire();
  held->span->resource = resource;
  apply_both_phases(*family.handler, event, *held->span);
  emitter_.cap_text(held->span->name);
  emitter_.cap_text(held->span->status_message);
  held->arrival_unix = clock_.now_unix_ns();
  held->end_raw = 0;
  held->has_end_timestamp = timestamp_of(reserved, clock_, held->end_unix, held->end_raw);
  if (!held->has_end_timestamp) stats_.note_arrival_time();  // it ends at arrival_unix
  held->has_duration = duration_of(reserved, held->duration);
  held->parent_missing = !parents_.assign_ids(reserved, family, *held->span, false, held->sampled);
  held->deadline_mono = clock_.now_monotonic_ns() + hold_ns_;
  const uint64_t event_time = held->has_end_timestamp ? held->end_unix : held->arrival_unix;

  index_.insert(std::string_view(held->key), held);
  held->prev = tail_;
  held->next = nullptr;
  (tail_ != nullptr ? tail_->next : head_) = held;
  tail_ = held;
  ++count_;
  if (MemoryBudget* budget = emitter_.budget()) {
    held->charged = static_cast<uint32_t>(std::min<size_t>(sizeof(HeldEnd) + held->key.capacity() + held->id.capacity() +
                                                               span_record_bytes(*held->span),
                                                           UINT32_MAX));
    budget->charge_open(held->charged);
    // Over the budget: the oldest held ends give up waiting (as if their hold ran out).
    while (budget->over() && head_ != held) resolve_held(head_);
  }
  if (max_held_ == 0) resolve_held(held);
  return event_time;
}

void HeldEnds::pair_with_held(SpanPtr span, HeldEnd* held, uint64_t start_raw, bool sampled,
                              const FamilyInfo& family) {
  apply_end_fields(*held->span, *span);
  if (!span->resource) span->resource = std::move(held->span->resource);  // the start named no process
  const uint64_t start = span->start_time_unix_ns;
  uint64_t end = held->has_end_timestamp ? held->end_unix : held->arrival_unix;
  uint64_t early_ns = 0;
  if (held->has_end_timestamp && start_raw != 0 && held->end_raw != 0) {
    early_ns = held->end_raw >= start_raw ? 0 : start_raw - held->end_raw;
    end = early_ns == 0 ? start + (held->end_raw - start_raw) : start;
  }
  if (held->has_duration) {
    end = start + static_cast<uint64_t>(held->duration);
    early_ns = 0;
  }
  emitter_.set_end(*span, end, early_ns);
  parents_.remember_ended(held->id, held->pid, *span, sampled);
  unlink_held(held);
  bump(stats_.spans_ended);
  emitter_.emit(std::move(span), sampled, family.name);
}

// Gives up waiting for the start: a span from the end's own fields if it has
// a duration, otherwise a counted drop.
void HeldEnds::resolve_held(HeldEnd* held) {
  SpanPtr span = std::move(held->span);
  if (held->has_duration) {
    const uint64_t end = held->has_end_timestamp ? held->end_unix : held->arrival_unix;
    const uint64_t length = static_cast<uint64_t>(held->duration);
    const bool sampled = held->sampled;
    span->end_time_unix_ns = end;
    span->start_time_unix_ns = end >= length ? end - length : 0;
    span->attributes.set_reserved_string(kIncompleteKey, "orphan_end");
    if (held->parent_missing) bump(stats_.parent_not_found);
    parents_.remember_ended(held->id, held->pid, *span, sampled);
    bump(stats_.spans_from_orphan_end);
    const FamilyInfo& family = *held->family;
    unlink_held(held);
    emitter_.emit(std::move(span), sampled, family.name);
    return;
  }
  bump(stats_.orphan_ends_dropped);
  orphan_log_.warn("end event for {} had no start and no duration: dropped", quote_bytes(held->family->name));
  unlink_held(held);
  emitter_.release(std::move(span));
}

void HeldEnds::unlink_held(HeldEnd* held) {
  index_.erase(std::string_view(held->key));
  (held->prev != nullptr ? held->prev->next : head_) = held->next;
  (held->next != nullptr ? held->next->prev : tail_) = held->prev;
  held->prev = held->next = nullptr;
  held->span.reset();
  --held->family->users;
  held->family = nullptr;
  if (MemoryBudget* budget = emitter_.budget()) budget->refund_open(held->charged);
  held->charged = 0;
  --count_;
  pool_.put(held);
}

}  // namespace bto
