#pragma once
// Test helpers for tests/spans: Events built directly (no decoder), a fake
// Clock and a SpanSink that keeps what it receives.

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "decode/event.h"
#include "spans/clock.h"
#include "spans/correlator.h"
#include "spans/handlers/event_handler.h"
#include "spans/span_pool.h"

namespace bto::testing {

// Fake monotonic starts at 1000 s; realtime at 2023-11-14T22:13:20Z + 1000 s,
// so the realtime - monotonic offset is exactly kOffset.
inline constexpr uint64_t kMono0 = 1'000'000'000'000ULL;
inline constexpr uint64_t kOffset = 1'700'000'000'000'000'000ULL;
inline constexpr uint64_t kReal0 = kOffset + kMono0;
inline constexpr uint64_t kSecond = 1'000'000'000ULL;
inline constexpr uint64_t kMs = 1'000'000ULL;

class FakeClock final : public Clock {
 public:
  FakeClock(uint64_t monotonic = kMono0, uint64_t realtime = kReal0)
      : monotonic_(monotonic), realtime_(realtime) {}
  uint64_t monotonic_ns() const noexcept override { return monotonic_; }
  uint64_t realtime_ns() const noexcept override { return realtime_; }
  void advance(uint64_t ns) {
    monotonic_ += ns;
    realtime_ += ns;
  }
  void set(uint64_t monotonic, uint64_t realtime) {
    monotonic_ = monotonic;
    realtime_ = realtime;
  }

 private:
  uint64_t monotonic_;
  uint64_t realtime_;
};

struct Val {
  Val(int v) : type(ValueType::kInt), i(v) {}
  Val(long v) : type(ValueType::kInt), i(v) {}
  Val(long long v) : type(ValueType::kInt), i(v) {}
  Val(unsigned long long v) : type(ValueType::kInt), i(static_cast<int64_t>(v)) {}
  Val(unsigned long v) : type(ValueType::kInt), i(static_cast<int64_t>(v)) {}
  Val(double v) : type(ValueType::kDouble), d(v) {}
  Val(bool v) : type(ValueType::kBool), b(v) {}
  Val(const char* v) : type(ValueType::kString), s(v) {}
  Val(std::string v) : type(ValueType::kString), s(std::move(v)) {}
  ValueType type;
  int64_t i = 0;
  double d = 0;
  bool b = false;
  std::string s;
};

inline NameParts split_name_for_test(std::string_view name) {
  for (std::string_view suffix : {"_start", "_begin"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return {name.substr(0, name.size() - suffix.size()), EventPhase::kStart};
    }
  }
  for (std::string_view suffix : {"_end", "_done", "_complete", "_finish"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return {name.substr(0, name.size() - suffix.size()), EventPhase::kEnd};
    }
  }
  return {name, EventPhase::kSingle};
}

// Owns the bytes an Event views. The Event is valid until the next event()
// call on this object or until the object is modified, moved or destroyed.
class TestEvent {
 public:
  TestEvent(std::string name, std::initializer_list<std::pair<const char*, Val>> fields)
      : name_(std::move(name)) {
    for (const auto& [key, value] : fields) add(key, value);
  }
  TestEvent& add(std::string key, const Val& value) {
    specs_.emplace_back(std::move(key), value);
    return *this;
  }
  Event event() const {
    fields_.clear();
    for (const auto& [key, value] : specs_) {
      EventField field;
      field.key = key;
      field.value.type = value.type;
      field.value.int_value = value.i;
      field.value.double_value = value.d;
      field.value.bool_value = value.b;
      if (value.type == ValueType::kString) field.value.string_value = value.s;
      fields_.push_back(field);
    }
    const NameParts parts = split_name_for_test(name_);
    Event event;
    event.name = name_;
    event.family = parts.family;
    event.phase = parts.phase;
    event.fields = fields_;
    return event;
  }

 private:
  std::string name_;
  std::vector<std::pair<std::string, Val>> specs_;
  mutable std::vector<EventField> fields_;
};

// Hands finished spans straight back to the pool, as the export side does.
class ReleasingSink final : public SpanSink {
 public:
  explicit ReleasingSink(SpanPool& pool) : pool_(pool) {}
  void on_span_finished(SpanPtr span) override {
    ++count;
    if (span->status == StatusCode::kError) ++errors;
    pool_.release(std::move(span));
  }
  uint64_t count = 0;
  uint64_t errors = 0;

 private:
  SpanPool& pool_;
};

class CollectingSink final : public SpanSink {
 public:
  void on_span_finished(SpanPtr span) override { spans.push_back(std::move(span)); }
  const SpanRecord* by_name(std::string_view name) const {
    for (const SpanPtr& span : spans) {
      if (span->name == name) return span.get();
    }
    return nullptr;
  }
  std::vector<SpanPtr> spans;
};

// The real correlator, handlers and pool around a fake clock.
// Every open span packed: the default harness exercises the packed path;
// tests passing their own options get the default threshold (full records).
inline CorrelatorOptions packing_every_open_span() {
  CorrelatorOptions options;
  options.pack_open_spans_above = 0;
  return options;
}

struct Harness {
  explicit Harness(CorrelatorOptions options = packing_every_open_span(), HandlerOptions handler_options = {})
      : registry(handler_options) {
    register_builtin_handlers(registry);
    correlator = create_correlator(options, registry, pool, sink, converter, stats);
  }
  void feed(const TestEvent& event) { correlator->on_event(event.event()); }
  size_t emitted() const { return sink.spans.size(); }
  const SpanRecord& span(size_t index) const { return *sink.spans.at(index); }

  FakeClock clock;
  TimestampConverter converter{clock};
  HandlerRegistry registry;
  SpanPool pool;
  CollectingSink sink;
  CorrelatorStats stats;
  std::unique_ptr<Correlator> correlator;
};

inline const Attribute* attr(const SpanRecord& span, std::string_view key) {
  return span.attributes.find(key);
}

}  // namespace bto::testing
