#pragma once
// The console's tree view (--console-format tree): finished spans are held per
// trace until the trace is complete, then printed as one tree (docs/console.md).
//
// Complete: its root has ended (a span without a parent, or whose parent is
// remote) and no child it had open is still missing. Spans carry what the
// correlator knew when they ended (SpanRecord::open_children, parent_remote).
// A trace is printed anyway, its open parts marked:
//  - `settle` after its root arrived, if children are still open then;
//  - `max_hold` after its first span arrived, if its root never came;
//  - early, oldest first, when holding one more span would pass max_traces,
//    max_spans or max_bytes (the overflow policy: nothing is dropped);
//  - at the end of the run.
// Spans of a trace that arrive after it was printed form a continuation,
// printed `settle` after they arrived.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <deque>
#include <vector>

#include "spans/span_record.h"

namespace bto {

struct TreeOptions {
  std::chrono::milliseconds settle{500};
  std::chrono::milliseconds max_hold{10000};
  size_t max_traces = 10000;
  size_t max_spans = 100000;
  size_t max_bytes = 32u << 20;  // what held spans take (their text and bookkeeping)
};

// Written by the console exporter's threads; read by the summary.
struct TreeStats {
  std::atomic<uint64_t> traces_printed{0};
  std::atomic<uint64_t> printed_complete{0};
  std::atomic<uint64_t> printed_settled{0};    // root ended, children still open after `settle`
  std::atomic<uint64_t> printed_root_missing{0};  // root not ended within `max_hold`
  std::atomic<uint64_t> printed_early{0};      // a bound was reached: the oldest trace went out early
  std::atomic<uint64_t> printed_at_exit{0};
  std::atomic<uint64_t> spans_printed{0};
  // Held, then lost to a failed write or the shutdown deadline. They were
  // counted as exported when the view took them (like partial_success).
  std::atomic<uint64_t> spans_unprinted{0};
  std::atomic<uint64_t> held_spans{0};  // gauge
  std::atomic<uint64_t> held_bytes{0};  // gauge
  std::atomic<uint64_t> peak_held_bytes{0};
};

enum class PrintReason : uint8_t { kComplete, kSettled, kRootMissing, kEarly, kAtExit };

// What the view keeps of a span: enough for its line. Its text (name, status
// message, attributes, escaped and cut) lives in its trace's `text`.
struct HeldSpan {
  SpanId span_id{};
  SpanId parent_id{};  // all zero: none
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t text_begin = 0;
  uint16_t name_size = 0;
  uint16_t status_size = 0;
  uint16_t attributes_size = 0;  // " key=value ..."
  uint16_t missing_children = 0;  // open when it ended, not arrived since
  SpanKind kind = SpanKind::kInternal;
  StatusCode status = StatusCode::kUnset;
  bool parent_remote = false;
  bool incomplete = false;  // emitted open (timeout, eviction, end of run)

  bool has_parent() const noexcept;
};

struct HeldTrace {
  TraceId trace_id{};
  std::vector<HeldSpan> spans;  // arrival order
  std::string text;             // every span's text, back to back
  std::chrono::steady_clock::time_point first_seen{};
  std::chrono::steady_clock::time_point root_seen{};  // valid when has_root
  uint32_t missing = 0;   // children known to be open, not arrived
  bool has_root = false;
  bool continued = false;  // an earlier part of this trace was printed already
  PrintReason reason = PrintReason::kComplete;
  size_t bytes = 0;

  std::string_view name(const HeldSpan& s) const noexcept { return {text.data() + s.text_begin, s.name_size}; }
  std::string_view status_message(const HeldSpan& s) const noexcept {
    return {text.data() + s.text_begin + s.name_size, s.status_size};
  }
  std::string_view attributes(const HeldSpan& s) const noexcept {
    return {text.data() + s.text_begin + s.name_size + s.status_size, s.attributes_size};
  }
  // Index of the span with this id, or -1 (a map once the trace is large).
  int64_t find(const SpanId& id);

 private:
  std::unordered_map<uint64_t, uint32_t> index_;  // span id -> index, once spans outgrow a scan
  size_t indexed_ = 0;
};

// Appends what the view keeps of `span` to `trace` (its text and record).
void hold_span(HeldTrace& trace, const SpanRecord& span);

inline constexpr size_t kMaxHeldName = 256;
inline constexpr size_t kMaxHeldStatus = 256;
inline constexpr size_t kMaxHeldAttributes = 512;
inline constexpr size_t kMaxHeldValue = 120;

// Not thread-safe: the console exporter serialises its calls.
class TraceAssembler {
 public:
  using Clock = std::chrono::steady_clock;

  TraceAssembler(const TreeOptions& options, TreeStats& stats);
  ~TraceAssembler();

  // Takes a copy of what the view needs; moves traces now ready to `ready`.
  void add(const SpanRecord& span, Clock::time_point now, std::vector<HeldTrace>& ready);
  // Traces whose settle time or hold limit has passed.
  void expire(Clock::time_point now, std::vector<HeldTrace>& ready);
  // Everything held, for the end of the run.
  void drain(std::vector<HeldTrace>& ready);
  // When expire() next has something to do (time_point::max(): nothing held).
  Clock::time_point next_expiry() const noexcept;
  size_t held_traces() const noexcept { return order_.size(); }
  size_t held_spans() const noexcept { return held_spans_; }
  size_t held_bytes() const noexcept { return held_bytes_; }

 private:
  struct TraceIdHash {
    size_t operator()(const TraceId& id) const noexcept;
  };
  using Order = std::list<HeldTrace>;

  HeldTrace& trace_for(const SpanRecord& span, Clock::time_point now);
  void release(Order::iterator it, PrintReason reason, std::vector<HeldTrace>& ready);
  void remember_printed(const TraceId& id);
  void update_gauges() noexcept;

  TreeOptions options_;
  TreeStats& stats_;
  Order order_;  // oldest first
  std::unordered_map<TraceId, Order::iterator, TraceIdHash> traces_;
  std::unordered_set<TraceId, TraceIdHash> printed_;
  std::deque<TraceId> printed_order_;
  size_t held_spans_ = 0;
  size_t held_bytes_ = 0;
};

// ---- printing ---------------------------------------------------------------

struct TreeStyle {
  bool color = false;  // ANSI colours (a terminal, NO_COLOR unset)
  std::string service_name;
  int bar_width = 24;
};

// Appends the trace: a header line, then one line per span, parents first,
// children in start order; orphans under a marked placeholder. Returns the
// number of span lines.
size_t format_trace_tree(const HeldTrace& trace, const TreeStyle& style, std::string& out);

}  // namespace bto
