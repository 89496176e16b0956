#include "common/log.h"

#include <gtest/gtest.h>

#include "common/json_writer.h"

namespace bto {
namespace {

TEST(QuoteBytes, escapes_control_and_non_ascii_bytes_and_bounds_length) {
  EXPECT_EQ(quote_bytes("ab\n\x01\xff\\"), "ab\\x0a\\x01\\xff\\\\");
  const std::string long_text(1000, 'x');
  const std::string quoted = quote_bytes(long_text, 10);
  EXPECT_EQ(quoted, "xxxxxxxxxx... (1000 bytes)");
}

TEST(RateLimitedLog, allows_a_burst_then_counts_suppressed_messages) {
  RateLimitedLog log(3, std::chrono::seconds(3600));
  for (int i = 0; i < 10; ++i) log.warn("message {}", i);
  EXPECT_EQ(log.suppressed_total(), 7u);
}

TEST(InitLogging, accepts_otel_level_names_and_rejects_others) {
  EXPECT_TRUE(init_logging("debug"));
  EXPECT_TRUE(init_logging("warning"));
  EXPECT_TRUE(init_logging("off"));
  EXPECT_FALSE(init_logging("loud"));
  EXPECT_TRUE(init_logging("info"));
}

TEST(JsonWriter, escapes_strings_per_rfc8259) {
  std::string out;
  append_json_string(out, std::string_view("a\"b\\c\n\t\x01\x7f\xc3\xa9", 11));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\"");
}

TEST(JsonWriter, numbers) {
  std::string out;
  append_json_int(out, -42);
  out += ' ';
  append_json_uint(out, 18446744073709551615ull);
  out += ' ';
  append_json_double(out, 0.25);
  out += ' ';
  append_json_double(out, std::numeric_limits<double>::infinity());
  EXPECT_EQ(out, "-42 18446744073709551615 0.25 \"Infinity\"");
}

}  // namespace
}  // namespace bto
