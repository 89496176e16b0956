#include "spans/clock.h"

#include <gtest/gtest.h>

#include "spans_test_util.h"

namespace bto {
namespace {

using testing::FakeClock;
using testing::kMono0;
using testing::kOffset;
using testing::kSecond;

TEST(TimestampConverter, monotonic_values_get_the_wall_clock_offset) {
  FakeClock clock;
  TimestampConverter converter(clock);
  EXPECT_EQ(converter.to_unix_ns(kMono0 + 123), kOffset + kMono0 + 123);
  EXPECT_EQ(converter.to_unix_ns(1), kOffset + 1);
}

TEST(TimestampConverter, epoch_values_pass_through) {
  FakeClock clock;
  TimestampConverter converter(clock);
  const uint64_t year2000 = 946'684'800ULL * kSecond;
  EXPECT_EQ(converter.to_unix_ns(year2000), year2000);
  EXPECT_EQ(converter.to_unix_ns(1'732'000'000'000'000'000ULL), 1'732'000'000'000'000'000ULL);
  // Just below the threshold is still taken as monotonic.
  EXPECT_EQ(converter.to_unix_ns(year2000 - 1), year2000 - 1 + kOffset);
}

TEST(TimestampConverter, offset_is_refreshed_after_the_interval) {
  FakeClock clock;
  TimestampConverter converter(clock, 5 * kSecond);
  // The wall clock is stepped by +1 s (NTP): the offset changes.
  clock.set(kMono0 + 2 * kSecond, kOffset + kMono0 + 3 * kSecond);
  EXPECT_EQ(converter.to_unix_ns(kMono0 + 2 * kSecond), kOffset + kMono0 + 2 * kSecond);  // not yet
  clock.set(kMono0 + 6 * kSecond, kOffset + kMono0 + 7 * kSecond);
  EXPECT_EQ(converter.to_unix_ns(kMono0 + 6 * kSecond), kOffset + kMono0 + 7 * kSecond);
  // Older (out-of-order) events use the new offset too and trigger nothing.
  EXPECT_EQ(converter.to_unix_ns(kMono0 + 1 * kSecond), kOffset + kMono0 + 2 * kSecond);
}

TEST(TimestampConverter, now_reads_the_clock) {
  FakeClock clock;
  TimestampConverter converter(clock);
  clock.advance(7);
  EXPECT_EQ(converter.now_unix_ns(), testing::kReal0 + 7);
  EXPECT_EQ(converter.now_monotonic_ns(), kMono0 + 7);
}

TEST(SystemClock, reads_real_clocks) {
  const auto clock = create_system_clock();
  const uint64_t real = clock->realtime_ns();
  EXPECT_GT(real, 1'600'000'000ULL * kSecond);  // after 2020
  const uint64_t a = clock->monotonic_ns();
  const uint64_t b = clock->monotonic_ns();
  EXPECT_LE(a, b);
  EXPECT_LT(a, 946'684'800ULL * kSecond);  // the converter's threshold assumption
  TimestampConverter converter(*clock);
  const uint64_t converted = converter.to_unix_ns(clock->monotonic_ns());
  const uint64_t now = clock->realtime_ns();
  EXPECT_LE(converted > now ? converted - now : now - converted, 50'000'000ULL);  // within 50 ms
}

}  // namespace
}  // namespace bto
