#include "spans/event_gate.h"

#include <time.h>

#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "spans/attribute_keys.h"

namespace bto {
namespace {

int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

// The pid an event names: an integer, or a string of digits. -1: none.
int64_t event_pid(const Event& event) {
  const FieldValue* value = event.find("pid");
  if (value == nullptr) return -1;
  if (value->type == ValueType::kInt) return value->int_value;
  if (value->type != ValueType::kString || value->string_value.empty() || value->string_value.size() > 18) return -1;
  int64_t pid = 0;
  for (const char c : value->string_value) {
    if (c < '0' || c > '9') return -1;
    pid = pid * 10 + (c - '0');
  }
  return pid;
}

struct FamilyPhases {
  uint64_t starts = 0;
  uint64_t ends = 0;
  int64_t first_end_ns = 0;
  bool warned = false;
};

}  // namespace

struct EventGate::State {
  EventGateOptions options;
  EventSink& next;
  EventGateStats& stats;
  NowFn now;
  std::unordered_map<std::string, FamilyPhases, StringHash, std::equal_to<>> families;
  std::vector<std::string> suspects;  // families with ends and no start, not yet warned about
  // The families of the last few events, looked at before the map: streams
  // interleave a handful of families (a request and its children), so one
  // remembered family missed on most events and each miss hashed the name.
  struct Recent {
    std::string_view family;  // the map's key: stable (node-based map)
    FamilyPhases* phases = nullptr;
  };
  std::array<Recent, 8> recent{};
  size_t recent_next = 0;
  RateLimitedLog long_name_log;

  State(const EventGateOptions& o, EventSink& n, EventGateStats& s, NowFn fn)
      : options(o), next(n), stats(s), now(fn != nullptr ? fn : &monotonic_ns) {}

  FamilyPhases* phases_of(std::string_view family) {
    for (const Recent& seen : recent) {
      if (seen.phases != nullptr && same_key(seen.family, family)) return seen.phases;
    }
    auto it = families.find(family);
    if (it == families.end()) {
      if (families.size() >= options.max_families) return nullptr;
      it = families.emplace(std::string(family), FamilyPhases{}).first;
    }
    recent[recent_next] = {it->first, &it->second};
    recent_next = (recent_next + 1) % recent.size();
    return &it->second;
  }

  void note(const Event& event) {
    if (event.phase == EventPhase::kSingle) return;
    FamilyPhases* phases = phases_of(event.family);
    if (phases == nullptr) return;
    if (event.phase == EventPhase::kStart) {
      ++phases->starts;
      return;
    }
    if (phases->ends++ == 0 && phases->starts == 0) {
      phases->first_end_ns = now();
      suspects.emplace_back(event.family);
    }
  }
};

EventGate::EventGate(const EventGateOptions& options, EventSink& next, EventGateStats& stats, NowFn now)
    : state_(std::make_unique<State>(options, next, stats, now)) {}

EventGate::~EventGate() = default;

void EventGate::on_event(const Event& event) {
  State& s = *state_;
  // Every later table (families, span metrics, warnings) keeps the name.
  if (event.name.size() > kMaxEventNameBytes) {
    s.stats.events_name_too_long.fetch_add(1, std::memory_order_relaxed);
    s.long_name_log.warn("event name of {} bytes (more than {}): event dropped ({} so far)", event.name.size(),
                         kMaxEventNameBytes, s.stats.events_name_too_long.load());
    return;
  }
  if (s.options.target_pid > 0) {
    const int64_t pid = event_pid(event);
    if (pid >= 0 && pid != s.options.target_pid) {
      s.stats.events_other_pid.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  s.note(event);
  s.next.on_event(event);
}

void EventGate::on_lost_events(uint64_t count) { state_->next.on_lost_events(count); }

void EventGate::on_recorded_span(const RecordedResource& resource, const RecordedSpan& span) {
  state_->next.on_recorded_span(resource, span);
}

void EventGate::check_families(bool final) {
  State& s = *state_;
  if (s.suspects.empty()) return;
  const int64_t now = s.now();
  std::vector<std::string> keep;
  for (std::string& family : s.suspects) {
    FamilyPhases& phases = s.families.find(family)->second;
    if (phases.starts != 0) continue;  // a start came after all
    if (!final && now - phases.first_end_ns < s.options.start_grace.count()) {
      keep.push_back(std::move(family));
      continue;
    }
    phases.warned = true;
    s.stats.families_without_start.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn(
        "family '{}': {} end event(s) and no '{}_start' (or _begin) in {} s: its spans cannot be paired. Likely "
        "causes: the start probe never fires (CPython 3.11 fires python:function__entry only while a profile "
        "function is installed, gh-98894; 3.12-3.14 have no function probes), its USDT semaphore is not set "
        "(the process started after bpftrace attached in system-wide mode: use --mode native-usdt, or --pid), "
        "the script's start probe names another binary than the process runs (check /proc/PID/exe against the "
        "path after --), or the start is filtered out in the script",
        family, phases.ends, family,
        final ? static_cast<double>(now - phases.first_end_ns) / 1e9
              : static_cast<double>(s.options.start_grace.count()) / 1e9);
  }
  s.suspects = std::move(keep);
}

}  // namespace bto
