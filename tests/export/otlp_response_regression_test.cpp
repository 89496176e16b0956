// Inputs found by fuzz/fuzz_collector_response, kept as regression tests.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <cstdint>
#include <string>

#include "export/otlp_response.h"

namespace bto {
namespace {

std::string read_file(const std::string& name) {
  std::ifstream in(std::string(BTO_TEST_DATA_DIR) + "/fuzz-regressions/" + name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// F1 (minimised from the fuzzer's input): a well-formed partial_success
// followed by one 0x00 byte, a tag with field number 0, which is invalid. The parse fails, and otlp_response.h promises that `out`
// is then left empty; it used to keep rejected_spans = 3 and the message.
TEST(OtlpResponseRegression, failed_protobuf_parse_leaves_partial_success_empty) {
  const std::string body = read_file("partial_success_trailing_field0.bin");
  ASSERT_EQ(body.size(), 32u);
  PartialSuccess out;
  EXPECT_FALSE(parse_partial_success_protobuf(body, out));
  EXPECT_EQ(out.rejected_spans, 0);
  EXPECT_TRUE(out.error_message.empty());
  EXPECT_FALSE(out.present());
}

// The same partial_success without the trailing byte parses.
TEST(OtlpResponseRegression, partial_success_without_trailing_field_parses) {
  std::string body = read_file("partial_success_trailing_field0.bin");
  body.pop_back();
  PartialSuccess out;
  ASSERT_TRUE(parse_partial_success_protobuf(body, out));
  EXPECT_EQ(out.rejected_spans, 3);
  EXPECT_EQ(out.error_message, "3 spans rejected: too old");
}

}  // namespace
}  // namespace bto

namespace bto {
namespace {

// F4: a 19-digit rejectedSpans beyond INT64_MAX overflowed the JSON reader's
// accumulator (signed overflow; in practice a negative count, so the rejected
// spans went uncounted). An out-of-range count is malformed: parse fails, out empty.
TEST(OtlpResponseRegression, json_rejected_spans_beyond_int64_is_malformed) {
  const std::string body = read_file("partial_success_json_int64_overflow.json");
  ASSERT_FALSE(body.empty());
  PartialSuccess out;
  EXPECT_FALSE(parse_partial_success_json(body, out));
  EXPECT_EQ(out.rejected_spans, 0);
  EXPECT_FALSE(out.present());
}

TEST(OtlpResponseRegression, json_rejected_spans_at_int64_max_parses) {
  PartialSuccess out;
  ASSERT_TRUE(parse_partial_success_json(R"({"partialSuccess":{"rejectedSpans":"9223372036854775807"}})", out));
  EXPECT_EQ(out.rejected_spans, INT64_MAX);
}

}  // namespace
}  // namespace bto
