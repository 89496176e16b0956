// Decoder -> real Correlator (builtin handlers, real SpanPool) -> a sink that
// checks and releases every span. Each input is a stream of lines; a line
// "@<n>" advances the fake clock by n milliseconds and runs sweep(), so
// timeouts and held orphan ends expire in the middle of the stream. Small
// limits (8 open spans, 4 held orphans) make eviction paths reachable.
// Checked after every line: open_spans <= max_open_spans and the decoder's
// identity; at the end, after flush_all(): nothing open, every start accounted
// for exactly once, and every span the sink got matches a counted outcome.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>

#include "decode/decoder.h"
#include "fuzz_support.h"
#include "spans/clock.h"
#include "spans/correlator.h"
#include "spans/handlers/event_handler.h"
#include "spans/span_pool.h"

namespace {

using namespace bto;

class FakeClock final : public Clock {
 public:
  uint64_t monotonic_ns() const noexcept override { return monotonic; }
  uint64_t realtime_ns() const noexcept override { return realtime; }
  uint64_t monotonic = 1'000'000'000'000;
  uint64_t realtime = 1'700'000'000'000'000'000;
};

class CheckingSink final : public SpanSink {
 public:
  CheckingSink(SpanPool& pool, const SpanLimits& limits) : pool_(pool), limits_(limits) {}
  void on_span_finished(SpanPtr span) override {
    BTO_FUZZ_CHECK(span != nullptr);
    BTO_FUZZ_CHECK(span->end_time_unix_ns >= span->start_time_unix_ns);
    BTO_FUZZ_CHECK(std::any_of(span->span_id.begin(), span->span_id.end(), [](uint8_t b) { return b != 0; }));
    BTO_FUZZ_CHECK(std::any_of(span->trace_id.begin(), span->trace_id.end(), [](uint8_t b) { return b != 0; }));
    BTO_FUZZ_CHECK(span->parent_span_id != span->span_id);
    BTO_FUZZ_CHECK(span->events.size() <= limits_.event_count);
    // The library's own marker attributes may come on top of the user's.
    BTO_FUZZ_CHECK(span->attributes.size() <= limits_.attribute_count + 4);
    for (const Attribute& attribute : span->attributes.items()) {
      if (attribute.type == AttrType::kString && !attribute.key.starts_with("bpftrace_otel.")) {
        BTO_FUZZ_CHECK(attribute.string_value.size() <= limits_.attribute_value_length + 4);
      }
    }
    ++spans;
    pool_.release(std::move(span));
  }
  uint64_t spans = 0;

 private:
  SpanPool& pool_;
  SpanLimits limits_;
};

class CountingSink final : public EventSink {
 public:
  explicit CountingSink(Correlator& correlator) : correlator_(correlator) {}
  void on_event(const Event& event) override { correlator_.on_event(event); }
  void on_lost_events(uint64_t count) override { correlator_.on_lost_events(count); }

 private:
  Correlator& correlator_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static DecodeStats decode_stats;
  static std::unique_ptr<Decoder> decoder = create_decoder(DecodeOptions{}, decode_stats);
  static HandlerRegistry* handlers = [] {
    auto* registry = new HandlerRegistry(HandlerOptions{});
    register_builtin_handlers(*registry);
    return registry;
  }();

  CorrelatorOptions options;
  options.max_open_spans = 8;
  options.span_timeout = std::chrono::milliseconds(500);
  options.orphan_hold = std::chrono::milliseconds(100);
  options.max_held_orphans = 4;
  // Small OpenTelemetry span limits and family cap: truncation and rejection paths.
  options.limits.attribute_value_length = 16;
  options.limits.attribute_count = 4;
  options.limits.event_count = 4;
  options.max_families = 4;

  FakeClock clock;
  TimestampConverter timestamps(clock);
  SpanPool pool(4);
  CheckingSink spans(pool, options.limits);
  CorrelatorStats stats;
  std::unique_ptr<Correlator> correlator = create_correlator(options, *handlers, pool, spans, timestamps, stats);

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t begin = 0;
  while (begin < input.size()) {
    size_t end = input.find('\n', begin);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(begin, end - begin);
    begin = end + 1;
    if (!line.empty() && line[0] == '@') {
      uint64_t ms = 0;
      std::from_chars(line.data() + 1, line.data() + line.size(), ms);
      ms = std::min<uint64_t>(ms, 3'600'000);
      clock.monotonic += ms * 1'000'000;
      clock.realtime += ms * 1'000'000;
      correlator->sweep();
    } else {
      const fuzz::PaddedLine copy(line);
      decoder->decode_line(copy.view(), *correlator);
      fuzz::check_decode_identity(decode_stats);
    }
    BTO_FUZZ_CHECK(stats.open_spans <= options.max_open_spans);
  }
  correlator->flush_all();
  BTO_FUZZ_CHECK(stats.open_spans == 0);

  // Every start ends exactly one way.
  const uint64_t start_outcomes = stats.spans_ended + stats.spans_timed_out + stats.spans_evicted +
                                  stats.spans_superseded + stats.flushed_at_shutdown;
  if (stats.spans_started != start_outcomes) {
    std::fprintf(stderr, "started=%lu ended=%lu timed_out=%lu evicted=%lu superseded=%lu flushed=%lu\n",
                 (unsigned long)stats.spans_started.load(), (unsigned long)stats.spans_ended.load(),
                 (unsigned long)stats.spans_timed_out.load(), (unsigned long)stats.spans_evicted.load(),
                 (unsigned long)stats.spans_superseded.load(), (unsigned long)stats.flushed_at_shutdown.load());
    std::abort();
  }
  // Every span handed on is one of the counted outcomes.
  // (The head sampler is always_on here, but its drops are counted anyway.)
  const uint64_t emitted = start_outcomes + stats.spans_single + stats.spans_from_orphan_end;
  if (spans.spans + stats.spans_sampled_out != emitted) {
    std::fprintf(stderr, "sink got %lu spans, counters say %lu\n", (unsigned long)spans.spans,
                 (unsigned long)emitted);
    std::abort();
  }
  return 0;
}
