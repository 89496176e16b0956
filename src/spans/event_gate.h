#pragma once
// Between the decoder and the correlator: checks on the event stream that do
// not need span state.
//  - With a target PID, events whose `pid` field names another process are
//    dropped and counted: bpftrace attaches uprobes on a shared library and
//    tracepoints in every process, also with -p (0.17), so a script for
//    libcurl or connect() sees every process on the host.
//  - A family whose end events keep coming while no start event ever came is
//    reported once (start probe never fires, semaphore not set, wrong
//    binary): otherwise each end is only an orphan counter going up.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "decode/decoder.h"

namespace bto {

// Event (and so family) names longer than this are dropped and counted: the
// family table, span metrics and warnings keep names, so their length is part
// of the memory bound. bpftrace's own probe names are far shorter.
inline constexpr size_t kMaxEventNameBytes = 256;

struct EventGateOptions {
  int target_pid = 0;  // 0: no filtering
  // How long a family may have ends and no start before the warning: the
  // correlator's orphan hold (an end may legitimately arrive before its start).
  std::chrono::nanoseconds start_grace = std::chrono::seconds(2);
  size_t max_families = 1024;  // families watched; more are not tracked
};

struct EventGateStats {
  std::atomic<uint64_t> events_other_pid{0};        // dropped: `pid` names another process
  std::atomic<uint64_t> families_without_start{0};  // families warned about (ends, never a start)
  std::atomic<uint64_t> events_name_too_long{0};    // dropped: name over kMaxEventNameBytes
};

class EventGate : public EventSink {
 public:
  // Monotonic nanoseconds; injectable for tests.
  using NowFn = int64_t (*)();

  EventGate(const EventGateOptions& options, EventSink& next, EventGateStats& stats, NowFn now = nullptr);
  ~EventGate() override;
  EventGate(const EventGate&) = delete;
  EventGate& operator=(const EventGate&) = delete;

  void on_event(const Event& event) override;
  void on_lost_events(uint64_t count) override;
  // Recorded spans (--input of OTLP/JSON) pass unfiltered: they were recorded
  // from the process they name, and are sent on unchanged.
  void on_recorded_span(const RecordedResource& resource, const RecordedSpan& span) override;

  // Warns about the families whose ends have come for start_grace without a
  // start; call on every sweep. `final` (end of input): no grace.
  void check_families(bool final = false);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace bto
