// Decode stage micro-benchmarks: one typical event line in each accepted shape,
// against the floor of a bare simdjson on-demand pass over the same bytes.
// allocs_per_event counts global operator new calls inside the timed loop; the
// hot path must keep it at 0.

#include <benchmark/benchmark.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "allocation_counter.h"
#include "decode/decoder.h"
#include "tools/bare_parse.h"

namespace {

namespace od = simdjson::ondemand;

// The same event (6 fields, the shape of an HTTP start) in the three shapes.
constexpr std::string_view kPrintfLine =
    R"({"type": "printf", "data": "{\"event\":\"http_request_start\",\"request_id\":12345,\"method\":\"GET\",)"
    R"(\"uri\":\"/api/users/42\",\"timestamp\":1706745600000000000,\"tid\":4242,\"remote\":\"10.0.0.7\"}\n"})";
constexpr std::string_view kTupleLine =
    R"({"type": "value", "data": ["http_request_start","request_id",12345,"method","GET",)"
    R"("uri","/api/users/42","timestamp",1706745600000000000,"tid",4242,"remote","10.0.0.7"]})";
constexpr std::string_view kRawLine =
    R"({"event":"http_request_start","request_id":12345,"method":"GET","uri":"/api/users/42",)"
    R"("timestamp":1706745600000000000,"tid":4242,"remote":"10.0.0.7"})";

std::string_view line_for(int64_t shape) {
  switch (shape) {
    case 0: return kPrintfLine;
    case 1: return kTupleLine;
    default: return kRawLine;
  }
}

const char* shape_name(int64_t shape) {
  switch (shape) {
    case 0: return "printf";
    case 1: return "tuple";
    default: return "raw";
  }
}

// A line with the padding the LineReader guarantees after it.
class PaddedLine {
 public:
  explicit PaddedLine(std::string_view text)
      : size_(text.size()), data_(std::make_unique<char[]>(text.size() + bto::kLinePadding)) {
    std::memcpy(data_.get(), text.data(), text.size());
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

// Touches what the correlator would: every field once.
class TouchingSink final : public bto::EventSink {
 public:
  void on_event(const bto::Event& event) override {
    ++events;
    checksum += event.name.size() + static_cast<uint64_t>(event.phase);
    for (const bto::EventField& field : event.fields) {
      checksum += field.key.size() + field.value.string_value.size() + static_cast<uint64_t>(field.value.int_value);
    }
  }
  void on_lost_events(uint64_t count) override { checksum += count; }

  uint64_t events = 0;
  uint64_t checksum = 0;
};

void report(benchmark::State& state, uint64_t allocations, uint64_t events) {
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["allocs_per_event"] =
      benchmark::Counter(events == 0 ? 0.0 : static_cast<double>(allocations) / static_cast<double>(events));
}

// The timed loop of the decoder benchmarks: `line` decoded again and again
// after one warm-up (buffers reach their steady size).
void time_decoding(benchmark::State& state, const PaddedLine& line, bto::DecodeStats& stats) {
  const auto decoder = bto::create_decoder(bto::DecodeOptions{}, stats);
  TouchingSink sink;
  decoder->decode_line(line.view(), sink);
  const uint64_t events_before = sink.events;
  const uint64_t allocations_before = bto::testing::allocations();
  for (auto _ : state) {
    decoder->decode_line(line.view(), sink);
  }
  const uint64_t allocations = bto::testing::allocations() - allocations_before;
  benchmark::DoNotOptimize(sink.checksum);
  report(state, allocations, sink.events - events_before);
}

void BM_decode(benchmark::State& state) {
  state.SetLabel(shape_name(state.range(0)));
  const PaddedLine line(line_for(state.range(0)));
  bto::DecodeStats stats;
  time_decoding(state, line, stats);
  if (stats.events != stats.lines) state.SkipWithError("the benchmark line did not decode to one event");
}
BENCHMARK(BM_decode)->DenseRange(0, 2);

// The floor (tools/bare_parse.h, shared with parse_floor) on one padded line.
void bare_parse(od::parser& parser, std::string_view line, uint64_t& checksum) {
  bto::bench::parse_and_touch(parser, line.data(), line.size(), line.size() + bto::kLinePadding, checksum);
}

void BM_bare_simdjson_parse(benchmark::State& state) {
  state.SetLabel(shape_name(state.range(0)));
  const PaddedLine line(line_for(state.range(0)));
  od::parser parser;
  uint64_t checksum = 0;
  bare_parse(parser, line.view(), checksum);
  uint64_t events = 0;
  const uint64_t allocations_before = bto::testing::allocations();
  for (auto _ : state) {
    bare_parse(parser, line.view(), checksum);
    ++events;
  }
  const uint64_t allocations = bto::testing::allocations() - allocations_before;
  benchmark::DoNotOptimize(checksum);
  report(state, allocations, events);
}
BENCHMARK(BM_bare_simdjson_parse)->DenseRange(0, 2);

// The true floor for printf-JSON: the outer record, then the event inside its
// data string, copied to a padded buffer and parsed by a second parser.
void BM_bare_simdjson_parse_printf_inner(benchmark::State& state) {
  const PaddedLine line(kPrintfLine);
  od::parser outer;
  od::parser inner;
  auto scratch = std::make_unique<char[]>(line.view().size() + bto::kLinePadding);
  uint64_t checksum = 0;
  uint64_t events = 0;
  const auto once = [&] {
    od::document doc;
    if (outer.iterate(line.view().data(), line.view().size(), line.view().size() + bto::kLinePadding).get(doc)) {
      return;
    }
    std::string_view data;
    if (doc["data"].get_string().get(data)) return;
    std::memcpy(scratch.get(), data.data(), data.size());
    bare_parse(inner, std::string_view(scratch.get(), data.size()), checksum);
  };
  once();
  const uint64_t allocations_before = bto::testing::allocations();
  for (auto _ : state) {
    once();
    ++events;
  }
  const uint64_t allocations = bto::testing::allocations() - allocations_before;
  benchmark::DoNotOptimize(checksum);
  report(state, allocations, events);
}
BENCHMARK(BM_bare_simdjson_parse_printf_inner);

// A printf record carrying four events, as bpftrace prints when one probe
// emits several printf lines between two buffer reads.
void BM_decode_printf_four_events(benchmark::State& state) {
  std::string data;
  for (int i = 0; i < 4; ++i) {
    data += R"({\"event\":\"http_request_start\",\"request_id\":)" + std::to_string(i) +
            R"(,\"method\":\"GET\",\"uri\":\"/api/users/42\"}\n)";
  }
  const PaddedLine line(R"({"type": "printf", "data": ")" + data + R"("})");
  bto::DecodeStats stats;
  time_decoding(state, line, stats);
  if (stats.events != 4 * stats.lines) state.SkipWithError("expected four events per line");
}
BENCHMARK(BM_decode_printf_four_events);

// 5% garbage (broken printf JSON): the warning path must stay cheap once the
// rate limiter has kicked in.
void BM_decode_malformed(benchmark::State& state) {
  spdlog::set_level(spdlog::level::off);
  const PaddedLine line(R"({"type": "printf", "data": "{\"event\":\"x\",\"uri\":\"/a\"b\"}\n"})");
  bto::DecodeStats stats;
  const auto decoder = bto::create_decoder(bto::DecodeOptions{}, stats);
  TouchingSink sink;
  for (int i = 0; i < 10; ++i) decoder->decode_line(line.view(), sink);
  const uint64_t allocations_before = bto::testing::allocations();
  uint64_t lines = 0;
  for (auto _ : state) {
    decoder->decode_line(line.view(), sink);
    ++lines;
  }
  const uint64_t allocations = bto::testing::allocations() - allocations_before;
  state.SetItemsProcessed(static_cast<int64_t>(lines));
  state.counters["allocs_per_line"] = benchmark::Counter(static_cast<double>(allocations) / static_cast<double>(lines));
  spdlog::set_level(spdlog::level::info);
}
BENCHMARK(BM_decode_malformed);

}  // namespace

BENCHMARK_MAIN();
