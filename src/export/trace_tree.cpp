#include "export/trace_tree.h"

#include <algorithm>
#include <cstring>

#include "export/terminal_text.h"

namespace bto {
namespace {

constexpr size_t kRememberPrinted = 4096;  // trace ids whose late spans are a continuation
// Bookkeeping per held span beyond its text: the record, the span-id index entry.
constexpr size_t kSpanOverhead = sizeof(HeldSpan) + 48;
constexpr size_t kTraceOverhead = sizeof(HeldTrace) + 96;

uint64_t id_key(const SpanId& id) noexcept {
  uint64_t key = 0;
  std::memcpy(&key, id.data(), sizeof key);
  return key;
}

bool is_zero(const SpanId& id) noexcept {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

size_t span_bytes(const HeldSpan& span) noexcept {
  return kSpanOverhead + span.name.capacity() + span.status_message.capacity() + span.attributes.capacity();
}

void append_attribute(std::string& out, const Attribute& attribute) {
  out += ' ';
  append_terminal_safe(out, attribute.key, 64);
  out += '=';
  switch (attribute.type) {
    case AttrType::kString: append_text_value_quoted(out, attribute.string_value, kMaxHeldValue); break;
    case AttrType::kBool: out += attribute.bool_value ? "true" : "false"; break;
    case AttrType::kInt: out += std::to_string(attribute.int_value); break;
    case AttrType::kDouble: {
      char buffer[32];
      const int n = std::snprintf(buffer, sizeof buffer, "%g", attribute.double_value);
      out.append(buffer, static_cast<size_t>(std::max(n, 0)));
      break;
    }
  }
}

}  // namespace

bool HeldSpan::has_parent() const noexcept { return !is_zero(parent_id); }

HeldSpan hold_span(const SpanRecord& span) {
  HeldSpan held;
  held.span_id = span.span_id;
  held.parent_id = span.parent_span_id;
  held.start_ns = span.start_time_unix_ns;
  held.end_ns = std::max(span.end_time_unix_ns, span.start_time_unix_ns);
  append_terminal_safe(held.name, span.name, kMaxHeldName);
  append_terminal_safe(held.status_message, span.status_message, kMaxHeldStatus);
  held.kind = span.kind;
  held.status = span.status;
  held.parent_remote = span.parent_remote;
  held.missing_children = span.open_children;
  const auto items = span.attributes.items();
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].key == "bpftrace_otel.incomplete") held.incomplete = true;
    if (held.attributes.size() >= kMaxHeldAttributes) {
      held.attributes += " …(+" + std::to_string(items.size() - i) + ")";
      break;
    }
    append_attribute(held.attributes, items[i]);
  }
  for (const SpanEventRecord& event : span.events) {
    if (held.attributes.size() >= kMaxHeldAttributes + 64) break;
    held.attributes += " event=";
    append_text_value_quoted(held.attributes, event.name, 64);
  }
  held.attributes.shrink_to_fit();
  return held;
}

size_t TraceAssembler::TraceIdHash::operator()(const TraceId& id) const noexcept {
  uint64_t low = 0;
  std::memcpy(&low, id.data() + 8, sizeof low);  // random part of W3C ids
  return static_cast<size_t>(low * 0x9e3779b97f4a7c15ull);
}

TraceAssembler::TraceAssembler(const TreeOptions& options, TreeStats& stats) : options_(options), stats_(stats) {
  options_.max_traces = std::max<size_t>(options_.max_traces, 1);
  options_.max_spans = std::max<size_t>(options_.max_spans, 1);
}

TraceAssembler::~TraceAssembler() = default;

HeldTrace& TraceAssembler::trace_for(const SpanRecord& span, Clock::time_point now) {
  if (auto found = traces_.find(span.trace_id); found != traces_.end()) return *found->second;
  HeldTrace& trace = order_.emplace_back();
  trace.trace_id = span.trace_id;
  trace.first_seen = now;
  trace.continued = printed_.count(span.trace_id) != 0;
  trace.bytes = kTraceOverhead;
  held_bytes_ += trace.bytes;
  traces_.emplace(span.trace_id, std::prev(order_.end()));
  return trace;
}

void TraceAssembler::add(const SpanRecord& record, Clock::time_point now, std::vector<HeldTrace>& ready) {
  HeldSpan span = hold_span(record);
  const size_t bytes = span_bytes(span);
  // Make room first (the overflow policy: the oldest traces go out early).
  while (!order_.empty() && (held_spans_ + 1 > options_.max_spans || held_bytes_ + bytes > options_.max_bytes ||
                             (traces_.count(record.trace_id) == 0 && order_.size() + 1 > options_.max_traces))) {
    release(order_.begin(), PrintReason::kEarly, ready);
  }
  HeldTrace& trace = trace_for(record, now);
  const bool root = !span.has_parent() || span.parent_remote;
  // A child the parent had open when it ended has now arrived.
  if (span.has_parent()) {
    if (auto parent = spans_.find(id_key(span.parent_id)); parent != spans_.end() && parent->second.first == &trace) {
      HeldSpan& held_parent = trace.spans[parent->second.second];
      if (held_parent.missing_children > 0) {
        --held_parent.missing_children;
        --trace.missing;
      }
    }
  }
  trace.missing += span.missing_children;
  spans_[id_key(span.span_id)] = {&trace, static_cast<uint32_t>(trace.spans.size())};
  trace.spans.push_back(std::move(span));
  trace.bytes += bytes;
  held_bytes_ += bytes;
  ++held_spans_;
  if (root && !trace.has_root) {
    trace.has_root = true;
    trace.root_seen = now;
  }
  if (trace.has_root && trace.missing == 0) {
    release(traces_.find(record.trace_id)->second, PrintReason::kComplete, ready);
  }
  update_gauges();
}

void TraceAssembler::expire(Clock::time_point now, std::vector<HeldTrace>& ready) {
  for (auto it = order_.begin(); it != order_.end();) {
    const auto next = std::next(it);
    if (it->has_root && now >= it->root_seen + options_.settle) {
      release(it, PrintReason::kSettled, ready);
    } else if (!it->has_root && now >= it->first_seen + (it->continued ? options_.settle : options_.max_hold)) {
      release(it, PrintReason::kRootMissing, ready);
    }
    it = next;
  }
  update_gauges();
}

void TraceAssembler::drain(std::vector<HeldTrace>& ready) {
  while (!order_.empty()) release(order_.begin(), PrintReason::kAtExit, ready);
  update_gauges();
}

TraceAssembler::Clock::time_point TraceAssembler::next_expiry() const noexcept {
  auto next = Clock::time_point::max();
  for (const HeldTrace& trace : order_) {
    const auto at = trace.has_root ? trace.root_seen + options_.settle
                                   : trace.first_seen + (trace.continued ? options_.settle : options_.max_hold);
    next = std::min(next, at);
  }
  return next;
}

void TraceAssembler::release(Order::iterator it, PrintReason reason, std::vector<HeldTrace>& ready) {
  for (const HeldSpan& span : it->spans) spans_.erase(id_key(span.span_id));
  held_spans_ -= it->spans.size();
  held_bytes_ -= it->bytes;
  traces_.erase(it->trace_id);
  remember_printed(it->trace_id);
  it->reason = reason;
  ready.push_back(std::move(*it));
  order_.erase(it);
}

void TraceAssembler::remember_printed(const TraceId& id) {
  if (!printed_.insert(id).second) return;
  printed_order_.push_back(id);
  if (printed_order_.size() > kRememberPrinted) {
    printed_.erase(printed_order_.front());
    printed_order_.pop_front();
  }
}

void TraceAssembler::update_gauges() noexcept {
  stats_.held_spans.store(held_spans_, std::memory_order_relaxed);
  stats_.held_bytes.store(held_bytes_, std::memory_order_relaxed);
  if (held_bytes_ > stats_.peak_held_bytes.load(std::memory_order_relaxed)) {
    stats_.peak_held_bytes.store(held_bytes_, std::memory_order_relaxed);
  }
}

}  // namespace bto
