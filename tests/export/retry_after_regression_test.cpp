// Inputs found by fuzz/fuzz_collector_response, kept as regression tests.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>

#include "export/retry_policy.h"

namespace bto {
namespace {

using std::chrono::system_clock;

std::string read_file(const std::string& name) {
  std::ifstream in(std::string(BTO_TEST_DATA_DIR) + "/fuzz-regressions/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const system_clock::time_point kNow{std::chrono::seconds(1'700'000'000)};

// F3: an HTTP-date past year 2262 overflowed system_clock::from_time_t (int64
// nanoseconds): signed overflow, so any wait could come out. It must clamp to
// the one-day cap like a huge delta-seconds value does.
TEST(RetryAfterRegression, date_beyond_year_2262_is_clamped_not_overflowed) {
  const std::string value = read_file("retry_after_year_4891.txt");
  ASSERT_FALSE(value.empty());
  const auto wait = parse_retry_after(value, kNow);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, std::chrono::hours(24));
}

// The largest date curl accepts on 64-bit time_t behaves the same.
TEST(RetryAfterRegression, far_future_dates_never_exceed_the_cap) {
  for (const char* date : {"Fri, 31 Dec 2262 23:59:59 GMT", "Sat, 01 Jan 2300 00:00:00 GMT",
                           "Sun, 06 Nov 9999 08:49:37 GMT"}) {
    const auto wait = parse_retry_after(date, kNow);
    ASSERT_TRUE(wait.has_value()) << date;
    EXPECT_EQ(*wait, std::chrono::hours(24)) << date;
  }
}

// A date in the near future still gives the exact wait.
TEST(RetryAfterRegression, near_date_is_exact) {
  const auto wait = parse_retry_after("Tue, 14 Nov 2023 22:13:27 GMT", kNow);  // kNow + 7 s
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, std::chrono::seconds(7));
}

}  // namespace
}  // namespace bto
