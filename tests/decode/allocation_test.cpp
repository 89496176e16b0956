// Steady-state decoding must not touch the heap: this binary counts every
// global operator new while decoding lines of every shape.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "allocation_counter.h"
#include "decode/decoder.h"

namespace bto {
namespace {

class CountingSink : public EventSink {
 public:
  void on_event(const Event& event) override { fields += event.fields.size(); }
  void on_lost_events(uint64_t count) override { lost += count; }
  uint64_t fields = 0;
  uint64_t lost = 0;
};

TEST(DecoderAllocations, steady_state_decoding_allocates_nothing) {
  const std::vector<std::string> texts = {
      R"({"type": "printf", "data": "{\"event\":\"a_start\",\"request_id\":1,\"uri\":\"/x\"}\n{\"event\":\"a_end\",\"request_id\":1}\n"})",
      R"({"type": "value", "data": ["http_request_start","request_id",42,"method","GET","uri","/a\"b","ok",true]})",
      R"({"event":"db_query","request_id":"42","duration":1.5e3,"data":{"n":-1}})",
      R"({"type": "lost_events", "data": {"events": 3}})",
      R"({"type": "attached_probes", "data": {"probes": 1}})",
      "{\"event\":\"u\",\"s\":\"\xff\"}",
      R"({"event":"x","nested":{"a":[1,2]}})",
      R"({"type": "printf", "data": "not json\n"})",
      "",
  };
  std::vector<std::unique_ptr<char[]>> buffers;
  std::vector<std::string_view> lines;
  for (const std::string& text : texts) {
    auto& buffer = buffers.emplace_back(std::make_unique<char[]>(text.size() + kLinePadding));
    std::memcpy(buffer.get(), text.data(), text.size());
    lines.emplace_back(buffer.get(), text.size());
  }
  spdlog::set_level(spdlog::level::off);  // warnings may allocate; the hot path must not
  DecodeStats stats;
  const auto decoder = create_decoder(DecodeOptions{}, stats);
  CountingSink sink;
  // Warm-up: buffers reach their size, and each kind of warning uses up its
  // burst (formatting an admitted warning allocates; the rate limiter bounds it).
  constexpr int kWarmUpRounds = 10;
  for (int round = 0; round < kWarmUpRounds; ++round) {
    for (std::string_view line : lines) decoder->decode_line(line, sink);
  }

  const uint64_t before = testing::allocations();
  for (int round = 0; round < 1000; ++round) {
    for (std::string_view line : lines) decoder->decode_line(line, sink);
  }
  const uint64_t allocations = testing::allocations() - before;
  spdlog::set_level(spdlog::level::info);
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(stats.events.load(), (1000u + kWarmUpRounds) * 6);
  EXPECT_EQ(sink.lost, (1000u + kWarmUpRounds) * 3);
}

}  // namespace
}  // namespace bto
