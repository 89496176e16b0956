// Start/end pairs through the real correlator and HTTP handler into a sink
// that hands records back to the pool (what the export side does).
// allocs_per_pair must stay 0: the steady state allocates nothing per event.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "allocation_counter.h"
#include "decode/event.h"
#include "spans/clock.h"
#include "spans/correlator.h"
#include "spans/handlers/event_handler.h"
#include "spans/span_pool.h"

namespace bto {
namespace {

class PoolSink final : public SpanSink {
 public:
  explicit PoolSink(SpanPool& pool) : pool_(pool) {}
  void on_span_finished(SpanPtr span) override { pool_.release(std::move(span)); }

 private:
  SpanPool& pool_;
};

// Pre-built events (as the decoder would hand them over): `in_flight` requests
// are open at once, like a server with that much concurrency.
struct PairEvents {
  explicit PairEvents(int in_flight) {
    fields.resize(static_cast<size_t>(in_flight) * 2);
    for (int i = 0; i < in_flight; ++i) {
      auto& start = fields[static_cast<size_t>(i) * 2];
      auto& end = fields[static_cast<size_t>(i) * 2 + 1];
      start = {field_int("request_id", i), field_str("method", "GET"),
               field_str("uri", "/api/v1/users/12345/orders"), field_int("tid", 4000 + i % 16),
               field_int("timestamp", 1'000'000'000 + i)};
      end = {field_int("request_id", i), field_int("status_code", 200), field_int("bytes", 512),
             field_int("timestamp", 1'000'050'000 + i)};
    }
  }
  static EventField field_int(std::string_view key, int64_t value) {
    EventField field;
    field.key = key;
    field.value.type = ValueType::kInt;
    field.value.int_value = value;
    return field;
  }
  static EventField field_str(std::string_view key, std::string_view value) {
    EventField field;
    field.key = key;
    field.value.type = ValueType::kString;
    field.value.string_value = value;
    return field;
  }
  Event start(size_t i) const {
    return {"http_request_start", "http_request", EventPhase::kStart, fields[i * 2]};
  }
  Event end(size_t i) const {
    return {"http_request_end", "http_request", EventPhase::kEnd, fields[i * 2 + 1]};
  }

  std::vector<std::vector<EventField>> fields;
};

void BM_correlate_start_end_pair(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(0));
  const auto clock = create_system_clock();
  TimestampConverter converter(*clock);
  HandlerRegistry registry(HandlerOptions{});
  register_builtin_handlers(registry);
  SpanPool pool;
  PoolSink sink(pool);
  CorrelatorStats stats;
  const auto correlator = create_correlator(CorrelatorOptions{}, registry, pool, sink, converter, stats);
  const PairEvents events(in_flight);
  const size_t n = static_cast<size_t>(in_flight);

  // Warm-up: every table, node and record reaches its steady size.
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < n; ++i) correlator->on_event(events.start(i));
    for (size_t i = 0; i < n; ++i) correlator->on_event(events.end(i));
  }

  uint64_t pairs = 0;
  const uint64_t allocations_before = testing::allocations();
  for (auto _ : state) {
    for (size_t i = 0; i < n; ++i) correlator->on_event(events.start(i));
    for (size_t i = 0; i < n; ++i) correlator->on_event(events.end(i));
    pairs += n;
  }
  const uint64_t allocations = testing::allocations() - allocations_before;
  state.SetItemsProcessed(static_cast<int64_t>(pairs));
  state.counters["allocs_per_pair"] =
      pairs == 0 ? 0.0 : static_cast<double>(allocations) / static_cast<double>(pairs);
  state.counters["ns_per_pair"] = benchmark::Counter(
      static_cast<double>(pairs), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if (stats.spans_ended.load() != pairs + 3 * n) state.SkipWithError("spans were lost");
}
BENCHMARK(BM_correlate_start_end_pair)->Arg(1)->Arg(64)->Arg(4096);

}  // namespace
}  // namespace bto

BENCHMARK_MAIN();
