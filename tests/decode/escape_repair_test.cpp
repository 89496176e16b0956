// The repair of bpftrace's \uffffffXX escapes of non-ASCII bytes
// (decode/escape_repair.h). Lines as bpftrace 0.17, 0.23 and 0.27 print them
// (tests/data/bpftrace/<version>/shapes.out has the recordings).

#include "decode/escape_repair.h"

#include <gtest/gtest.h>

#include <string>

namespace bto {
namespace {

struct Repaired {
  std::string text;
  EscapeRepairCounts counts;
};

Repaired repair(std::string_view line) {
  SignExtendedEscapes repairer;
  Repaired r;
  r.text.resize(line.size());
  r.text.resize(repairer.repair(line, r.text.data(), r.counts));
  return r;
}

TEST(EscapeRepair, cafe_in_a_tuple_becomes_utf8) {
  const std::string line = R"({"type": "value", "data": ["u","pc","caf\uffffffc3\uffffffa9"]})";
  ASSERT_TRUE(SignExtendedEscapes::present(line));
  const Repaired r = repair(line);
  EXPECT_EQ(r.text, "{\"type\": \"value\", \"data\": [\"u\",\"pc\",\"caf\xc3\xa9\"]}");
  EXPECT_EQ(r.counts.runs, 1u);
  EXPECT_EQ(r.counts.unrepairable, 0u);
}

TEST(EscapeRepair, printf_data_is_repaired_at_the_outer_level) {
  // The printf text holds the raw bytes; bpftrace escapes them once, as part of "data".
  const std::string line = R"({"type": "printf", "data": "{\"event\":\"x\",\"w\":\"caf\uffffffc3\uffffffa9\"}\n"})";
  const Repaired r = repair(line);
  EXPECT_EQ(r.text, "{\"type\": \"printf\", \"data\": \"{\\\"event\\\":\\\"x\\\",\\\"w\\\":\\\"caf\xc3\xa9\\\"}\\n\"}");
  EXPECT_EQ(r.counts.unrepairable, 0u);
}

TEST(EscapeRepair, four_byte_characters_and_several_strings) {
  // "ü" (c3 bc) and U+1F600 (f0 9f 98 80, upper-case hex) in two strings: two runs.
  const Repaired r = repair(R"(["a\uffffffc3\uffffffbc","\uffffffF0\uffffff9f\uffffff98\uffffff80"])");
  EXPECT_EQ(r.text, "[\"a\xc3\xbc\",\"\xf0\x9f\x98\x80\"]");
  EXPECT_EQ(r.counts.runs, 2u);
  EXPECT_EQ(r.counts.unrepairable, 0u);
  // Without its hex digits it is no escape of a byte: left as is.
  const std::string malformed = R"(["x","\uffffff\uffffff"])";
  EXPECT_EQ(repair(malformed).text, malformed);
}

TEST(EscapeRepair, a_character_cut_by_the_string_limit_becomes_a_replacement_and_is_counted) {
  // bpftrace cuts strings at a byte limit, possibly inside a character: "é" without its second byte.
  const Repaired r = repair(R"(["s","caf\uffffffc3"])");
  EXPECT_EQ(r.text, "[\"s\",\"caf\xef\xbf\xbd\"]");
  EXPECT_EQ(r.counts.runs, 1u);
  EXPECT_EQ(r.counts.unrepairable, 1u);
}

TEST(EscapeRepair, latin1_bytes_become_replacements_and_valid_neighbours_survive) {
  // 0xe9 alone (Latin-1 "é") then a valid "é" in the same run.
  const Repaired r = repair(R"(["s","\uffffffe9\uffffffc3\uffffffa9"])");
  EXPECT_EQ(r.text, "[\"s\",\"\xef\xbf\xbd\xc3\xa9\"]");
  EXPECT_EQ(r.counts.unrepairable, 1u);
}

TEST(EscapeRepair, an_escaped_backslash_followed_by_the_text_is_not_an_escape) {
  // The user's string is the 11 characters \uffffffc3: bpftrace escapes the backslash.
  const std::string line = R"(["s","\\uffffffc3"])";
  const Repaired r = repair(line);
  EXPECT_EQ(r.text, line);
  EXPECT_EQ(r.counts.runs, 0u);
  // Three backslashes: an escaped backslash, then a real escape.
  EXPECT_EQ(repair(R"(["\\\uffffffc3\uffffffa9"])").text, "[\"\\\\\xc3\xa9\"]");
}

TEST(EscapeRepair, other_escapes_and_ascii_range_values_are_left_alone) {
  for (const std::string line : {R"(["\u00e9","\n","\"","\uffff"])", R"(["\uffffff41"])", R"(["\uffffffc"])",
                                 R"(["\uffffffzz"])", R"(x\)"}) {
    EXPECT_EQ(repair(line).text, line) << line;
  }
}

TEST(EscapeRepair, output_is_never_longer_than_the_input) {
  // Ten escaped bytes that are all invalid: each becomes U+FFFD (3 bytes) from 10.
  std::string line = "[\"";
  for (int i = 0; i < 10; ++i) line += R"(\uffffff80)";
  line += "\"]";
  const Repaired r = repair(line);
  EXPECT_LE(r.text.size(), line.size());
  EXPECT_EQ(r.counts.unrepairable, 1u);
}

TEST(EscapeRepair, present_is_false_for_ordinary_lines) {
  EXPECT_FALSE(SignExtendedEscapes::present(R"({"type": "value", "data": ["x","u","/a\"b"]})"));
  EXPECT_FALSE(SignExtendedEscapes::present(""));
}

}  // namespace
}  // namespace bto
