#include "export/trace_tree.h"

#include <algorithm>
#include <cstring>

#include <charconv>

#include "export/terminal_text.h"

namespace bto {
namespace {

constexpr size_t kRememberPrinted = 4096;  // trace ids whose late spans are a continuation
constexpr size_t kScanUpTo = 16;           // spans of a trace searched by a scan, beyond by an index
constexpr size_t kTraceOverhead = sizeof(HeldTrace) + 96;  // the record and its map entries

uint64_t id_key(const SpanId& id) noexcept {
  uint64_t key = 0;
  std::memcpy(&key, id.data(), sizeof key);
  return key;
}

bool is_zero(const SpanId& id) noexcept { return id_key(id) == 0; }

// What holding `span` may add at most: its record and its text, escaped and cut.
size_t span_bytes_bound(const SpanRecord& span) noexcept {
  return 2 * sizeof(HeldSpan) + std::min<size_t>(span.name.size() * 4, kMaxHeldName + 8) +
         std::min<size_t>(span.status_message.size() * 4, kMaxHeldStatus + 8) + kMaxHeldAttributes + 192;
}

size_t trace_bytes(const HeldTrace& trace) noexcept {
  return kTraceOverhead + trace.spans.capacity() * sizeof(HeldSpan) + trace.text.capacity();
}

void append_attribute(std::string& out, const Attribute& attribute) {
  out += ' ';
  append_terminal_safe(out, attribute.key, 64);
  out += '=';
  char number[32];
  switch (attribute.type) {
    case AttrType::kString: append_text_value_quoted(out, attribute.string_value, kMaxHeldValue); break;
    case AttrType::kBool: out += attribute.bool_value ? "true" : "false"; break;
    case AttrType::kInt:
      out.append(number, std::to_chars(number, number + sizeof number, attribute.int_value).ptr);
      break;
    case AttrType::kDouble:
      out.append(number, std::to_chars(number, number + sizeof number, attribute.double_value).ptr);
      break;
  }
}

}  // namespace

bool HeldSpan::has_parent() const noexcept { return id_key(parent_id) != 0; }

int64_t HeldTrace::find(const SpanId& id) {
  const uint64_t key = id_key(id);
  if (spans.size() <= kScanUpTo) {
    for (size_t i = 0; i < spans.size(); ++i) {
      if (id_key(spans[i].span_id) == key) return static_cast<int64_t>(i);
    }
    return -1;
  }
  for (; indexed_ < spans.size(); ++indexed_) index_.emplace(id_key(spans[indexed_].span_id), indexed_);
  const auto found = index_.find(key);
  return found == index_.end() ? -1 : static_cast<int64_t>(found->second);
}

void hold_span(HeldTrace& trace, const SpanRecord& span) {
  HeldSpan& held = trace.spans.emplace_back();
  held.span_id = span.span_id;
  held.parent_id = span.parent_span_id;
  held.start_ns = span.start_time_unix_ns;
  held.end_ns = std::max(span.end_time_unix_ns, span.start_time_unix_ns);
  held.kind = span.kind;
  held.status = span.status;
  held.parent_remote = span.parent_remote;
  held.missing_children = span.open_children;
  std::string& text = trace.text;
  held.text_begin = static_cast<uint32_t>(text.size());
  append_terminal_safe(text, span.name, kMaxHeldName);
  held.name_size = static_cast<uint16_t>(text.size() - held.text_begin);
  append_terminal_safe(text, span.status_message, kMaxHeldStatus);
  held.status_size = static_cast<uint16_t>(text.size() - held.text_begin - held.name_size);
  const size_t attributes_begin = text.size();
  const auto items = span.attributes.items();
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].key == "bpftrace_otel.incomplete") held.incomplete = true;
    if (text.size() - attributes_begin >= kMaxHeldAttributes) {
      text += " …(+" + std::to_string(items.size() - i) + ")";
      break;
    }
    append_attribute(text, items[i]);
  }
  for (const SpanEventRecord& event : span.events) {
    if (text.size() - attributes_begin >= kMaxHeldAttributes + 64) break;
    text += " event=";
    append_text_value_quoted(text, event.name, 64);
  }
  held.attributes_size = static_cast<uint16_t>(std::min<size_t>(text.size() - attributes_begin, UINT16_MAX));
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
  trace.bytes = trace_bytes(trace);
  held_bytes_ += trace.bytes;
  traces_.emplace(span.trace_id, std::prev(order_.end()));
  return trace;
}

void TraceAssembler::add(const SpanRecord& record, Clock::time_point now, std::vector<HeldTrace>& ready) {
  // Make room first (the overflow policy: the oldest traces go out early).
  const size_t bound = span_bytes_bound(record);
  while (!order_.empty() && (held_spans_ + 1 > options_.max_spans || held_bytes_ + bound > options_.max_bytes ||
                             (order_.size() + 1 > options_.max_traces && traces_.count(record.trace_id) == 0))) {
    release(order_.begin(), PrintReason::kEarly, ready);
  }
  HeldTrace& trace = trace_for(record, now);
  // A child the parent had open when it ended has now arrived.
  if (!is_zero(record.parent_span_id)) {
    if (const int64_t parent = trace.find(record.parent_span_id); parent >= 0) {
      HeldSpan& held_parent = trace.spans[static_cast<size_t>(parent)];
      if (held_parent.missing_children > 0) {
        --held_parent.missing_children;
        --trace.missing;
      }
    }
  }
  hold_span(trace, record);
  trace.missing += record.open_children;
  held_bytes_ -= trace.bytes;
  trace.bytes = trace_bytes(trace);
  held_bytes_ += trace.bytes;
  ++held_spans_;
  if ((is_zero(record.parent_span_id) || record.parent_remote) && !trace.has_root) {
    trace.has_root = true;
    trace.root_seen = now;
  }
  if (trace.has_root && trace.missing == 0) {
    release(traces_.find(record.trace_id)->second, PrintReason::kComplete, ready);
  } else {
    // A buffer that just doubled may pass the bound: out early, oldest first.
    while (held_bytes_ > options_.max_bytes && !order_.empty()) release(order_.begin(), PrintReason::kEarly, ready);
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
