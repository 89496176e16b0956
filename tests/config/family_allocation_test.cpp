// A declared family in steady state allocates nothing per event: this binary
// counts every global operator new while lines go through the real decoder,
// correlator and a ConfigFamilyHandler built from a parsed config file.
// (In tests/config: it builds the handler from a parsed config file.)

#include <gtest/gtest.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "allocation_counter.h"
#include "config/app_options.h"
#include "config_test_util.h"
#include "decode/decoder.h"
#include "spans/clock.h"
#include "spans/correlator.h"
#include "spans/handlers/config_family_handler.h"
#include "spans/span_pool.h"
#include "spans/spans_test_util.h"

namespace bto {
namespace {

class FixedClock final : public Clock {
 public:
  uint64_t monotonic_ns() const noexcept override { return 1'000'000'000'000ULL; }
  uint64_t realtime_ns() const noexcept override { return 1'700'000'000'000'000'000ULL; }
};

constexpr const char* kConfig = R"(
[[family]]
name = "db_query"
span_name = "{db.operation|upper} {table} {uri|route}"
kind = "client"
key = ["pid", "conn_id"]
status.error_when = ["errno != 0", "status == \"failed\" && rows < 0"]
status.message = "{db.operation} failed: {errno}"
[family.attributes]
op = "db.operation"
rows = { name = "db.response.rows", type = "int" }
cost = { type = "string" }
secret = { drop = true }
)";

TEST(FamilyAllocations, steady_state_declared_family_allocates_nothing) {
  const std::string path = ::testing::TempDir() + "bto_family_alloc_" + std::to_string(::getpid()) + ".toml";
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(kConfig, f);
  std::fclose(f);
  const LoadedConfig config = config_test::load_args({"-i", "x", "--config", path});
  std::remove(path.c_str());

  HandlerRegistry registry(HandlerOptions{});
  FamilyStats family_stats;
  register_config_families(registry, config.options.families.specs, family_stats);
  register_builtin_handlers(registry);
  FixedClock clock;
  TimestampConverter converter(clock);
  SpanPool pool;
  testing::ReleasingSink sink(pool);
  CorrelatorStats stats;
  DecodeStats decode_stats;
  const auto correlator = create_correlator(CorrelatorOptions{}, registry, pool, sink, converter, stats);
  const auto decoder = create_decoder(DecodeOptions{}, decode_stats);

  std::vector<std::string> texts;
  for (int conn = 0; conn < 32; ++conn) {
    const std::string key = "\"pid\",7,\"conn_id\"," + std::to_string(conn);
    texts.push_back(R"({"type": "value", "data": ["db_query_start",)" + key +
                    R"(,"op","select","uri","/api/users/12345/orders?page=2","secret","s","cost",1.25,"tid",3]})");
    texts.push_back(R"({"type": "value", "data": ["db_query_end",)" + key + R"(,"table","orders","rows","17","errno",)" +
                    std::to_string(conn % 4 == 0 ? 2 : 0) + "]}");
    texts.push_back(R"({"type": "value", "data": ["db_query",)" + key +
                    R"(,"op","insert","table","t","uri","/x/1","status","failed","rows",-1,"duration",1000]})");
  }
  std::vector<std::unique_ptr<char[]>> buffers;
  std::vector<std::string_view> lines;
  for (const std::string& text : texts) {
    auto& buffer = buffers.emplace_back(std::make_unique<char[]>(text.size() + kLinePadding));
    std::memcpy(buffer.get(), text.data(), text.size());
    lines.emplace_back(buffer.get(), text.size());
  }
  spdlog::set_level(spdlog::level::off);  // an admitted warning may allocate
  for (int round = 0; round < 3; ++round) {  // warm-up: pool, tables and strings reach their size
    for (std::string_view line : lines) decoder->decode_line(line, *correlator);
  }
  const uint64_t before = testing::allocations();
  for (int round = 0; round < 50; ++round) {
    for (std::string_view line : lines) decoder->decode_line(line, *correlator);
    correlator->sweep();
  }
  const uint64_t allocations = testing::allocations() - before;
  spdlog::set_level(spdlog::level::info);
#if defined(BTO_COUNTS_ALLOCATIONS)
  EXPECT_GT(before, 0u) << "the counting operator new is not in use";
  EXPECT_EQ(allocations, 0u);
#else
  (void)allocations;
#endif
  EXPECT_EQ(sink.count, 53u * 64u);
  EXPECT_EQ(sink.errors, 53u * (8u + 32u));  // errno on every 4th pair, the failed rule on every single
  EXPECT_EQ(stats.missing_request_id, 0u);
  EXPECT_EQ(family_stats.template_fields_missing, 0u);
}

}  // namespace
}  // namespace bto
