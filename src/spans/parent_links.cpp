#include "spans/parent_links.h"

#include <algorithm>

#include "common/counter.h"

namespace bto {
namespace {

void link_local(SpanRecord& span, const OpenSpan& parent, ParentLink& link) noexcept {
  const OpenSpanIdentity identity = parent.identity();
  span.trace_id = identity.trace_id;
  span.parent_span_id = identity.span_id;
  span.depth = static_cast<uint16_t>(std::min<int>(identity.depth + 1, UINT16_MAX));
  link = {ParentLink::kLocal, parent.sampled};
}

}  // namespace

ParentLinks::ParentLinks(OpenSpansById& open_ids, OpenSpansByThread& open_nests, bool auto_nesting,
                         const Sampler& sampler, CorrelatorStats& stats)
    : open_ids_(open_ids),
      open_nests_(open_nests),
      auto_nesting_(auto_nesting),
      sampler_(sampler),
      stats_(stats),
      ended_(kEndedCapacity) {}

bool ParentLinks::assign_ids(const ReservedFields& reserved, const FamilyInfo& family, SpanRecord& span,
                             bool count_missing, bool& sampled, OpenSpan** open_parent) {
  ids_.new_span_id(span.span_id);
  span.parent_remote = false;
  ParentLink link;
  IdText parent;
  OpenSpan* open = nullptr;
  // parent_id 0 or "" means "no parent" (what a script prints for roots).
  const bool named = parent.set(reserved.parent_id) && parent.text != "0";
  bool found = named && link_named(parent.text, reserved.process_id(), span, count_missing, link, open);
  if (!found) found = link_remote_or_nesting(reserved, family, named, span, link, open);
  if (open_parent != nullptr) *open_parent = open;
  if (!found) {
    ids_.new_trace_id(span.trace_id);
    span.parent_span_id = {};
    span.depth = 0;
  }
  sampled = sampler_.head_decision(link, span.trace_id);
  return !named || link.kind == ParentLink::kLocal;
}

// The span named by parent_id: open, or ended a moment ago.
bool ParentLinks::link_named(std::string_view parent_id, int64_t pid, SpanRecord& span, bool count_missing,
                             ParentLink& link, OpenSpan*& open_parent) {
  if (OpenSpan* parent = find_open_of(open_ids_, parent_id, pid)) {
    link_local(span, *parent, link);
    open_parent = parent;
    return true;
  }
  if (const EndedSpan* ended = find_ended(parent_id, pid)) {
    span.trace_id = ended->trace_id;
    span.parent_span_id = ended->span_id;
    span.depth = static_cast<uint16_t>(std::min<int>(ended->depth + 1, UINT16_MAX));
    link = {ParentLink::kLocal, ended->sampled};
    return true;
  }
  if (count_missing) {
    bump(stats_.parent_not_found);
    parent_log_.warn("parent_id {} names no open or recently ended span; starting a new trace",
                     quote_bytes(parent_id));
  }
  return false;
}

// The caller's span (trace context), else, when the event named no parent and
// carries no context, the innermost nesting parent open on its thread.
bool ParentLinks::link_remote_or_nesting(const ReservedFields& reserved, const FamilyInfo& family, bool named,
                                         SpanRecord& span, ParentLink& link, OpenSpan*& open_parent) {
  RemoteContext remote;
  const ContextResult context = trace_context(reserved, remote);
  if (context == ContextResult::kValid) {
    span.trace_id = remote.trace_id;
    span.parent_span_id = remote.span_id;
    span.parent_remote = true;
    span.depth = 0;
    link = {ParentLink::kRemote, remote.sampled};
    bump(stats_.trace_context_joined);
    return true;
  }
  if (context == ContextResult::kAbsent && !named && auto_nesting_ && reserved.has_tid()) {
    // Not under a span of the same family: two requests on one thread are
    // siblings (an event loop), not parent and child.
    const OpenSpansByThread::Ref head = open_nests_.find(reserved.tid->int_value);
    if (head && head.get()->family != &family) {
      link_local(span, *head.get(), link);
      open_parent = head.get();
      bump(stats_.spans_auto_nested);
      return true;
    }
  }
  return false;
}

// traceparent wins over trace_id + span_id; "" is absent (a server with no
// incoming header prints that). Anything else malformed is counted.
ContextResult ParentLinks::trace_context(const ReservedFields& reserved, RemoteContext& out) {
  const auto present = [](const FieldValue* value) {
    return value != nullptr && !(value->type == ValueType::kString && value->string_value.empty());
  };
  if (present(reserved.traceparent)) {
    if (reserved.traceparent->type == ValueType::kString &&
        parse_traceparent(reserved.traceparent->string_value, out)) {
      return ContextResult::kValid;
    }
    return invalid_context("traceparent", *reserved.traceparent);
  }
  const bool has_trace = present(reserved.trace_id);
  const bool has_span = present(reserved.span_id);
  if (!has_trace && !has_span) return ContextResult::kAbsent;
  if (has_trace && has_span && reserved.trace_id->type == ValueType::kString &&
      reserved.span_id->type == ValueType::kString &&
      parse_id_pair(reserved.trace_id->string_value, reserved.span_id->string_value, out)) {
    return ContextResult::kValid;
  }
  return invalid_context(has_trace ? "trace_id" : "span_id", has_trace ? *reserved.trace_id : *reserved.span_id);
}

ContextResult ParentLinks::invalid_context(std::string_view field, const FieldValue& value) {
  bump(stats_.trace_context_invalid);
  context_log_.warn("malformed {} {}: ignored, the span starts a new trace", field,
                    value.type == ValueType::kString ? quote_bytes(value.string_value) : std::string("(not a string)"));
  return ContextResult::kInvalid;
}

void ParentLinks::remember_ended(std::string_view id, int64_t pid, const SpanRecord& span, bool sampled) {
  EndedSpan& slot = ended_[ended_next_];
  if (slot.used) ended_index_.erase_if_maps_to(slot.id, &slot);
  slot.id.assign(id);
  slot.pid = pid;
  slot.trace_id = span.trace_id;
  slot.span_id = span.span_id;
  slot.depth = span.depth;
  slot.sampled = sampled;
  slot.used = true;
  ended_index_.insert_or_replace(slot.id, &slot);
  ended_next_ = (ended_next_ + 1) % kEndedCapacity;
}

// The index keeps the latest span ended with an id: another process's is not
// this child's parent (rare: two processes ending the same id within 4096 spans).
const ParentLinks::EndedSpan* ParentLinks::find_ended(std::string_view id, int64_t pid) noexcept {
  const auto found = ended_index_.find(id);
  return !found || !same_process(found.get()->pid, pid) ? nullptr : found.get();
}

}  // namespace bto
