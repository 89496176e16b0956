#include "decode/decoder.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bto {
namespace {

// One line in its own heap block with exactly kLinePadding bytes after it, so
// AddressSanitizer flags any read beyond the padding. The padding is filled
// with '}' because that is the byte simdjson treats specially (issue 1834).
class PaddedLine {
 public:
  explicit PaddedLine(std::string_view text)
      : size_(text.size()), data_(std::make_unique<char[]>(text.size() + kLinePadding)) {
    std::memcpy(data_.get(), text.data(), text.size());
    std::memset(data_.get() + size_, '}', kLinePadding);
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

struct OwnedValue {
  ValueType type = ValueType::kInt;
  int64_t int_value = 0;
  double double_value = 0;
  bool bool_value = false;
  std::string string_value;
};

struct OwnedEvent {
  std::string name;
  std::string family;
  EventPhase phase = EventPhase::kSingle;
  std::vector<std::pair<std::string, OwnedValue>> fields;

  const OwnedValue& at(std::string_view key) const {
    for (const auto& [k, v] : fields) {
      if (k == key) return v;
    }
    ADD_FAILURE() << "no field " << key << " in " << name;
    static const OwnedValue kNone;
    return kNone;
  }
  bool has(std::string_view key) const {
    for (const auto& field : fields) {
      if (field.first == key) return true;
    }
    return false;
  }
};

class RecordingSink : public EventSink {
 public:
  void on_event(const Event& event) override {
    OwnedEvent owned{std::string(event.name), std::string(event.family), event.phase, {}};
    for (const EventField& field : event.fields) {
      OwnedValue value{field.value.type, field.value.int_value, field.value.double_value, field.value.bool_value,
                       std::string(field.value.string_value)};
      owned.fields.emplace_back(std::string(field.key), std::move(value));
    }
    // find() must agree with the field list.
    if (!event.fields.empty()) {
      EXPECT_EQ(event.find(event.fields[0].key), &event.fields[0].value);
    }
    EXPECT_EQ(event.find("\x01no such key"), nullptr);
    events.push_back(std::move(owned));
  }
  void on_lost_events(uint64_t count) override { lost.push_back(count); }

  std::vector<OwnedEvent> events;
  std::vector<uint64_t> lost;
};

struct Counts {
  uint64_t lines = 0;
  uint64_t documents = 0;
  uint64_t events = 0;
  uint64_t ignored_records = 0;
  uint64_t lost_events = 0;
  uint64_t malformed_json = 0;
  uint64_t not_an_object = 0;
  uint64_t missing_event = 0;
  uint64_t wrong_type = 0;
  uint64_t wrong_type_fields = 0;
  uint64_t invalid_utf8 = 0;
  uint64_t oversized = 0;
  uint64_t dropped_fields = 0;
  bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Counts& c) {
  return out << "{lines=" << c.lines << " documents=" << c.documents << " events=" << c.events
             << " ignored=" << c.ignored_records << " lost=" << c.lost_events << " malformed=" << c.malformed_json
             << " not_an_object=" << c.not_an_object << " missing_event=" << c.missing_event
             << " wrong_type=" << c.wrong_type << " wrong_type_fields=" << c.wrong_type_fields
             << " invalid_utf8=" << c.invalid_utf8 << " oversized=" << c.oversized
             << " dropped_fields=" << c.dropped_fields << "}";
}

Counts snapshot(const DecodeStats& s) {
  return Counts{s.lines,        s.documents,     s.events,     s.ignored_records, s.lost_events,
                s.malformed_json, s.not_an_object, s.missing_event, s.wrong_type,   s.wrong_type_fields,
                s.invalid_utf8, s.oversized,     s.dropped_fields};
}

class DecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::off); }
  static void TearDownTestSuite() { spdlog::set_level(spdlog::level::info); }

  void make(DecodeOptions options) { decoder_ = create_decoder(options, stats_); }
  void feed(std::string_view text) {
    if (!decoder_) make(DecodeOptions{});
    const PaddedLine line(text);
    decoder_->decode_line(line.view(), sink_);
  }
  Counts counts() const { return snapshot(stats_); }
  const OwnedEvent& only_event() {
    EXPECT_EQ(sink_.events.size(), 1u);
    static const OwnedEvent kNone;
    return sink_.events.empty() ? kNone : sink_.events.front();
  }

  DecodeStats stats_;
  std::unique_ptr<Decoder> decoder_;
  RecordingSink sink_;
};

// --- accepted shapes ---------------------------------------------------------

TEST_F(DecoderTest, printf_record_delivers_event) {
  feed(R"({"type": "printf", "data": "{\"event\":\"http_request_start\",\"request_id\":7,\"method\":\"GET\"}\n"})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1}));
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.name, "http_request_start");
  EXPECT_EQ(event.family, "http_request");
  EXPECT_EQ(event.phase, EventPhase::kStart);
  ASSERT_EQ(event.fields.size(), 2u);
  EXPECT_EQ(event.fields[0].first, "request_id");
  EXPECT_EQ(event.fields[0].second.type, ValueType::kInt);
  EXPECT_EQ(event.fields[0].second.int_value, 7);
  EXPECT_EQ(event.fields[1].first, "method");
  EXPECT_EQ(event.fields[1].second.string_value, "GET");
}

TEST_F(DecoderTest, printf_record_with_several_events) {
  feed(R"({"type":"printf","data":"{\"event\":\"a_start\",\"request_id\":1}\n{\"event\":\"a_end\",\"request_id\":1}\r\n\n  {\"event\":\"b\"}"})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 3, .events = 3}));
  ASSERT_EQ(sink_.events.size(), 3u);
  EXPECT_EQ(sink_.events[0].name, "a_start");
  EXPECT_EQ(sink_.events[1].name, "a_end");
  EXPECT_EQ(sink_.events[1].phase, EventPhase::kEnd);
  EXPECT_EQ(sink_.events[2].name, "b");
  EXPECT_EQ(sink_.events[2].phase, EventPhase::kSingle);
}

TEST_F(DecoderTest, printf_record_mixing_good_and_bad_events) {
  feed(R"({"type":"printf","data":"{\"event\":\"a\"}\nstarting worker 3\n{\"x\":1}\n[1]\n{\"event\":\"b\"}\n"})");
  EXPECT_EQ(counts(), (Counts{.lines = 1,
                              .documents = 5,
                              .events = 2,
                              .malformed_json = 1,
                              .not_an_object = 1,
                              .missing_event = 1}));
}

TEST_F(DecoderTest, printf_debug_text_is_malformed) {
  feed(R"({"type":"printf","data":"hello from the probe\n"})");
  feed(R"({"type":"printf","data":"42 requests so far\n"})");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .malformed_json = 2}));
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(DecoderTest, printf_record_with_only_newlines_is_ignored) {
  feed(R"({"type":"printf","data":"\n"})");
  feed(R"({"type":"printf","data":""})");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .ignored_records = 2}));
}

TEST_F(DecoderTest, printf_unescaped_quote_breaks_the_event) {
  // What bpftrace really prints for printf("{\"uri\":\"%s\"}\n", "/a\"b"): %s is not escaped.
  feed(R"({"type": "printf", "data": "{\"event\":\"x\",\"uri\":\"/a\"b\"}\n"})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .malformed_json = 1}));
}

TEST_F(DecoderTest, seed_nested_data_form) {
  feed(R"({"event":"http_request_end","data":{"request_id":"abc123","status_code":200,"duration":15000000}})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1}));
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.phase, EventPhase::kEnd);
  ASSERT_EQ(event.fields.size(), 3u);
  EXPECT_EQ(event.at("request_id").string_value, "abc123");
  EXPECT_EQ(event.at("status_code").int_value, 200);
  EXPECT_EQ(event.at("duration").int_value, 15000000);
}

TEST_F(DecoderTest, seed_nested_data_form_inside_printf_with_flat_fields_beside) {
  feed(R"({"type":"printf","data":"{\"event\":\"req_start\",\"tid\":9,\"data\":{\"request_id\":5},\"pid\":3}\n"})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1}));
  const OwnedEvent& event = only_event();
  ASSERT_EQ(event.fields.size(), 3u);
  EXPECT_EQ(event.at("tid").int_value, 9);
  EXPECT_EQ(event.at("request_id").int_value, 5);
  EXPECT_EQ(event.at("pid").int_value, 3);
}

TEST_F(DecoderTest, tuple_event_with_typed_values) {
  feed(R"({"type": "value", "data": ["http_request_start","request_id",42,"method","GET","ratio",0.5,"neg",-5,"ok",true,"flag",1]})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1}));
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.name, "http_request_start");
  EXPECT_EQ(event.family, "http_request");
  ASSERT_EQ(event.fields.size(), 6u);
  EXPECT_EQ(event.at("request_id").type, ValueType::kInt);
  EXPECT_EQ(event.at("request_id").int_value, 42);
  EXPECT_EQ(event.at("method").type, ValueType::kString);
  EXPECT_EQ(event.at("method").string_value, "GET");
  EXPECT_EQ(event.at("ratio").type, ValueType::kDouble);
  EXPECT_DOUBLE_EQ(event.at("ratio").double_value, 0.5);
  EXPECT_EQ(event.at("neg").int_value, -5);
  EXPECT_EQ(event.at("ok").type, ValueType::kBool);
  EXPECT_TRUE(event.at("ok").bool_value);
  EXPECT_EQ(event.at("flag").type, ValueType::kInt);  // bpftrace prints bools as 1/0
}

// Integers are read from the number's text 8 digits at a time (event_fields.h):
// every length from 1 to 20 digits, signs, leading zeros, spacing, fractions
// and exponents must decode exactly as strtoll/strtod would, in tuples and in
// raw objects.
TEST_F(DecoderTest, integers_of_every_length_decode_exactly) {
  std::mt19937_64 rng(20);
  std::vector<std::string> numbers = {"0", "-0", "7", "-7", "10", "00", "01", "-01", "1.0", "1e3", "-1E2", "12.5e-1",
                                      "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                                      "18446744073709551615", "999999999999999999", "1000000000000000000",
                                      "-999999999999999999", "123456789012345678901234"};
  for (int length = 1; length <= 20; ++length) {
    for (int i = 0; i < 20; ++i) {
      std::string digits(1, static_cast<char>('1' + rng() % 9));
      for (int d = 1; d < length; ++d) digits.push_back(static_cast<char>('0' + rng() % 10));
      numbers.push_back(digits);
      numbers.push_back("-" + digits);
    }
  }
  for (const std::string& number : numbers) {
    for (const std::string& line : {"{\"type\": \"value\", \"data\": [\"e\", \"n\", " + number + " , \"k\", 1]}",
                                    "{\"type\": \"value\", \"data\": [\"e\", \"n\", " + number + "]}",
                                    "{\"event\": \"e\", \"n\": " + number + "\t}"}) {
      sink_.events.clear();
      feed(line);
      const bool leading_zero =
          (number.size() > 1 && number[0] == '0') || (number.size() > 2 && number.substr(0, 2) == "-0");
      if (leading_zero) continue;  // not JSON: simdjson's own parser rejects it, as before
      ASSERT_EQ(sink_.events.size(), 1u) << line;
      const OwnedValue& value = sink_.events.front().at("n");
      const bool is_int = number.find_first_of(".eE") == std::string::npos && number.size() <= 20;
      errno = 0;
      const long long as_int = std::strtoll(number.c_str(), nullptr, 10);
      const bool fits = is_int && errno == 0;
      if (fits) {
        ASSERT_EQ(value.type, ValueType::kInt) << line;
        ASSERT_EQ(value.int_value, as_int) << line;
      } else {
        ASSERT_NE(value.type, ValueType::kInt) << line;
      }
    }
  }
}

TEST_F(DecoderTest, tuple_with_quoted_uri_round_trips) {
  // Exactly what bpftrace 0.17 prints for print(("x", "uri", "/a\"b\\c")).
  feed(R"({"type": "value", "data": ["http_request_start","uri","/a\"b\\c","q","\u00e9\n"]})");
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.at("uri").string_value, "/a\"b\\c");
  EXPECT_EQ(event.at("q").string_value, "\xc3\xa9\n");
}

TEST_F(DecoderTest, tuple_with_name_only) {
  feed(R"({"type":"value","data":["tick"]})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1}));
  EXPECT_TRUE(only_event().fields.empty());
}

TEST_F(DecoderTest, raw_event_line) {
  feed(R"({"event":"db_query","request_id":"42","duration":1500,"sql":"SELECT 1"})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1}));
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.name, "db_query");
  EXPECT_EQ(event.phase, EventPhase::kSingle);
  EXPECT_EQ(event.fields.size(), 3u);
  EXPECT_FALSE(event.has("event"));
}

TEST_F(DecoderTest, raw_event_keys_and_values_are_unescaped) {
  feed(R"({"ev\u0065nt":"x_start","k\u0065y":"v\t\"q\"","sl\/ash":"a\/b"})");
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.name, "x_start");
  EXPECT_EQ(event.at("key").string_value, "v\t\"q\"");
  EXPECT_EQ(event.at("sl/ash").string_value, "a/b");
}

TEST_F(DecoderTest, raw_event_type_and_data_members_are_ordinary_fields) {
  feed(R"({"event":"x","type":"job","data":7})");
  feed(R"({"type":"job","event":"y","data":"s"})");  // "type" first, but it is still an event
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .events = 2}));
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[0].at("type").string_value, "job");
  EXPECT_EQ(sink_.events[0].at("data").int_value, 7);
  EXPECT_EQ(sink_.events[1].name, "y");
  EXPECT_EQ(sink_.events[1].at("type").string_value, "job");
  EXPECT_EQ(sink_.events[1].at("data").string_value, "s");
}

TEST_F(DecoderTest, record_with_data_before_type) {
  feed(R"({"data":["late_start","request_id",1],"type":"value"})");
  feed(R"({"data":{"events":3},"type":"lost_events"})");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .events = 1, .ignored_records = 1, .lost_events = 3}));
  EXPECT_EQ(only_event().at("request_id").int_value, 1);
}

TEST_F(DecoderTest, request_id_types_are_preserved) {
  feed(R"({"type":"value","data":["a_start","request_id",42]})");
  feed(R"({"type":"value","data":["a_end","request_id","42"]})");
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[0].at("request_id").type, ValueType::kInt);
  EXPECT_EQ(sink_.events[0].at("request_id").int_value, 42);
  EXPECT_EQ(sink_.events[1].at("request_id").type, ValueType::kString);
  EXPECT_EQ(sink_.events[1].at("request_id").string_value, "42");
}

TEST_F(DecoderTest, numbers) {
  feed(R"({"event":"n","neg":-17,"min":-9223372036854775808,"max":9223372036854775807,)"
       R"("above":9223372036854775808,"umax":18446744073709551615,"huge":123456789012345678901234567890,)"
       R"("f":3.25,"e":1e3,"ne":-2.5E-3,"zero":0,"nzero":-0.0})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1}));
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.at("neg").int_value, -17);
  EXPECT_EQ(event.at("min").type, ValueType::kInt);
  EXPECT_EQ(event.at("min").int_value, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(event.at("max").type, ValueType::kInt);
  EXPECT_EQ(event.at("max").int_value, std::numeric_limits<int64_t>::max());
  // Above INT64_MAX: the exact digits, as a string (ids >= 2^63 stay exact and pair).
  EXPECT_EQ(event.at("above").type, ValueType::kString);
  EXPECT_EQ(event.at("above").string_value, "9223372036854775808");
  EXPECT_EQ(event.at("umax").type, ValueType::kString);
  EXPECT_EQ(event.at("umax").string_value, "18446744073709551615");
  EXPECT_EQ(event.at("huge").type, ValueType::kDouble);
  EXPECT_DOUBLE_EQ(event.at("huge").double_value, 1.2345678901234568e29);
  EXPECT_EQ(event.at("f").type, ValueType::kDouble);
  EXPECT_DOUBLE_EQ(event.at("f").double_value, 3.25);
  EXPECT_EQ(event.at("e").type, ValueType::kDouble);
  EXPECT_DOUBLE_EQ(event.at("e").double_value, 1000.0);
  EXPECT_DOUBLE_EQ(event.at("ne").double_value, -0.0025);
  EXPECT_EQ(event.at("zero").type, ValueType::kInt);
  EXPECT_EQ(event.at("nzero").type, ValueType::kDouble);
}

TEST_F(DecoderTest, invalid_numbers_are_malformed) {
  feed(R"({"event":"n","a":01})");
  feed(R"({"event":"n","a":1.})");
  feed(R"({"event":"n","a":-})");
  feed(R"({"event":"n","a":1e})");
  EXPECT_EQ(counts(), (Counts{.lines = 4, .documents = 4, .malformed_json = 4}));
}

TEST_F(DecoderTest, lost_events_are_summed_and_reported) {
  feed(R"({"type": "lost_events", "data": {"events": 12}})");
  feed(R"({"type": "lost_events", "data": {"events": 30}})");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .ignored_records = 2, .lost_events = 42}));
  EXPECT_EQ(sink_.lost, (std::vector<uint64_t>{12, 30}));
}

TEST_F(DecoderTest, other_bpftrace_records_are_ignored) {
  const char* lines[] = {
      R"({"type": "attached_probes", "data": {"probes": 3}})",
      R"({"type": "map", "data": {"@x": {"1": 2}}})",
      R"({"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1}]}})",
      R"({"type": "lhist", "data": {"@l": [{"min": 0, "max": 1, "count": 1}]}})",
      R"({"type": "stats", "data": {"@s": {"count": 1, "average": 5, "total": 5}}})",
      R"({"type": "time", "data": "11:02:03\n"})",
      R"({"type": "join", "data": "a b c"})",
      R"({"type": "syscall", "data": "ls\n"})",
      R"({"type": "cat", "data": "file contents\n"})",
      R"({"type": "helper_error", "msg": "Failed to map_update_elem", "helper": "map_update_elem", "retcode": -7, "line": 1, "col": 14})",
      R"({"type": "something_new"})",
  };
  for (const char* line : lines) feed(line);
  EXPECT_EQ(counts(), (Counts{.lines = 11, .documents = 11, .ignored_records = 11}));
  EXPECT_TRUE(sink_.events.empty());
  EXPECT_TRUE(sink_.lost.empty());
}

TEST_F(DecoderTest, recorded_bpftrace_session) {
  // Verbatim stdout of bpftrace 0.17 -f json (blank lines included).
  const char* lines[] = {
      R"({"type": "attached_probes", "data": {"probes": 1}})",
      R"({"type": "printf", "data": "{\"u\":\"a\"b\\c\"}\n"})",
      R"({"type": "value", "data": ["http_request_start","request_id",42,"uri","/a\"b","neg",-5,"big",18446744073709551615,"t",1]})",
      R"({"type": "time", "data": "11\n"})",
      "",
      "",
      R"({"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1}]}})",
      R"({"type": "map", "data": {"@x": {"1": 2}}})",
  };
  for (const char* line : lines) feed(line);
  EXPECT_EQ(counts(),
            (Counts{.lines = 8, .documents = 8, .events = 1, .ignored_records = 6, .malformed_json = 1}));
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.at("uri").string_value, "/a\"b");
  EXPECT_EQ(event.at("big").type, ValueType::kString);
  EXPECT_EQ(event.at("big").string_value, "18446744073709551615");
}

TEST_F(DecoderTest, blank_lines_are_ignored) {
  feed("");
  feed("   \t\r");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .ignored_records = 2}));
}

// --- bad input, one kind at a time -------------------------------------------

TEST_F(DecoderTest, broken_json_is_malformed) {
  for (const char* line : {R"({"event":)", R"({"event":"x")", R"({"event":"x",})", R"({"event" "x"})",
                           R"({"event":"x"} trailing)", R"({"event":"x"}{"event":"y"})", R"({event:"x"})",
                           R"({"event":"unterminated})", "{", "}", "nonsense", R"({"event":"x","a":tru})",
                           R"({"event":"x","a":"\q"})", R"({"event":"x","a":"\ud800"})"}) {
    feed(line);
  }
  EXPECT_EQ(counts(), (Counts{.lines = 14, .documents = 14, .malformed_json = 14}));
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(DecoderTest, valid_json_of_the_wrong_shape_is_not_an_object) {
  for (const char* line : {"[1,2]", R"("http_request_start")", "42", "-1.5", "true", "null", "[]",
                           R"({"type":"value","data":42})", R"({"type":"value","data":[1,"a",2]})",
                           R"({"type":"value","data":[]})", R"({"type":"value"})",
                           R"({"type":"printf","data":{"event":"x"}})"}) {
    feed(line);
  }
  EXPECT_EQ(counts(), (Counts{.lines = 12, .documents = 12, .not_an_object = 12}));
  // An object as "data" is a bpftrace 0.25+ record: without "event" it is an object without an event name.
  feed(R"({"type":"value","data":{"a":1}})");
  EXPECT_EQ(counts(), (Counts{.lines = 13, .documents = 13, .not_an_object = 12, .missing_event = 1}));
  EXPECT_TRUE(sink_.events.empty());
}

// Issue 17.6: "[[[[" was counted as not_an_object: On-Demand never read past
// the first bracket. Arrays are now read to their end.
TEST_F(DecoderTest, broken_arrays_are_counted_as_json) {
  for (const char* line : {"[[[[", "[1 2]", "[1,", "[1,]", R"([{"a":}])", "[[1],[2]", "[1] x", "[tru]",
                           R"(["\q"])"}) {
    feed(line);
  }
  EXPECT_EQ(counts(), (Counts{.lines = 9, .documents = 9, .malformed_json = 9}));
  feed(R"([[1,[2,{"a":[null,true,"x",-1.5e3]}]],{}])");
  EXPECT_EQ(counts().not_an_object, 1u);
}

// Issue 17.6: bpftrace's lost count is not ours to trust: it saturates
// instead of wrapping, and a record of zero is no loss to report.
TEST_F(DecoderTest, bpftrace_lost_count_saturates_and_zero_is_not_reported) {
  feed(R"({"type": "lost_events", "data": {"events": 0}})");
  EXPECT_TRUE(sink_.lost.empty());
  EXPECT_EQ(counts().lost_events, 0u);
  feed(R"({"type": "lost_events", "data": {"events": 18446744073709551615}})");
  feed(R"({"type": "lost_events", "data": {"events": 5, "events": 18446744073709551615}})");
  feed(R"({"type": "lost_events", "data": {"events": 7}})");
  EXPECT_EQ(counts().lost_events, UINT64_MAX);
  EXPECT_EQ(sink_.lost, (std::vector<uint64_t>{UINT64_MAX, UINT64_MAX, 7}));
  EXPECT_EQ(counts().ignored_records, 4u);
}

TEST_F(DecoderTest, scalars_with_trailing_text_are_malformed) {
  feed("42 requests");
  feed(R"("a" "b")");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .malformed_json = 2}));
}

TEST_F(DecoderTest, missing_event_name) {
  feed(R"({"request_id":1})");
  feed(R"({"event":"","request_id":1})");
  feed("{}");
  feed(R"({"type":"value","data":["","a",1]})");
  feed(R"({"type":"printf","data":"{\"request_id\":1}\n"})");
  EXPECT_EQ(counts(), (Counts{.lines = 5, .documents = 5, .missing_event = 5}));
}

TEST_F(DecoderTest, event_name_of_wrong_type) {
  feed(R"({"event":5,"request_id":1})");
  feed(R"({"event":["a"]})");
  feed(R"({"event":null})");
  EXPECT_EQ(counts(), (Counts{.lines = 3, .documents = 3, .wrong_type = 3}));
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(DecoderTest, field_of_wrong_type_is_dropped_and_the_rest_delivered) {
  feed(R"({"event":"x","a":{"b":1},"keep":1,"c":[1,2],"d":null,"data":{"e":{"f":2},"g":3}})");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1, .wrong_type = 4, .wrong_type_fields = 4}));
  const OwnedEvent& event = only_event();
  ASSERT_EQ(event.fields.size(), 2u);
  EXPECT_EQ(event.at("keep").int_value, 1);
  EXPECT_EQ(event.at("g").int_value, 3);
}

TEST_F(DecoderTest, tuple_bad_pairs_are_dropped_and_the_rest_delivered) {
  feed(R"({"type":"value","data":["x","a",1,5,"lost","b",[1],"c",{"d":1},"e",2,"odd"]})");
  // 5 (non-string key, its value "lost" goes with it), b (array), c (object), "odd" (no value).
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1, .wrong_type = 4, .wrong_type_fields = 4}));
  const OwnedEvent& event = only_event();
  ASSERT_EQ(event.fields.size(), 2u);
  EXPECT_EQ(event.at("a").int_value, 1);
  EXPECT_EQ(event.at("e").int_value, 2);
}

TEST_F(DecoderTest, fields_beyond_max_fields_are_dropped) {
  make(DecodeOptions{.max_line_bytes = 1 << 20, .max_fields = 3});
  feed(R"({"event":"x","a":1,"b":2,"c":3,"d":4,"e":5})");
  feed(R"({"type":"value","data":["y","a",1,"b",2,"c",3,"d",4]})");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .events = 2, .dropped_fields = 3}));
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[0].fields.size(), 3u);
  EXPECT_EQ(sink_.events[0].fields[2].first, "c");
  EXPECT_EQ(sink_.events[1].fields.size(), 3u);
}

TEST_F(DecoderTest, invalid_utf8_is_sanitised_and_delivered) {
  feed("{\"event\":\"x\",\"s\":\"a\xff" "b\"}");                       // stray byte
  feed("{\"type\":\"value\",\"data\":[\"y\",\"s\",\"\xe2\x82\"]}");        // truncated sequence
  feed("{\"type\":\"printf\",\"data\":\"{\\\"event\\\":\\\"z\\\",\\\"s\\\":\\\"\xc0\xaf\\\"}\\n\"}");  // overlong
  feed("{\"event\":\"w\",\"s\":\"\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82\xac\"}");  // surrogate, > U+10FFFF, valid €
  EXPECT_EQ(counts(), (Counts{.lines = 4, .documents = 4, .events = 4, .invalid_utf8 = 4}));
  ASSERT_EQ(sink_.events.size(), 4u);
  EXPECT_EQ(sink_.events[0].at("s").string_value, "a\xef\xbf\xbd" "b");
  EXPECT_EQ(sink_.events[1].at("s").string_value, "\xef\xbf\xbd");
  EXPECT_EQ(sink_.events[2].at("s").string_value, "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(sink_.events[3].at("s").string_value,
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xe2\x82\xac");
}

TEST_F(DecoderTest, invalid_utf8_in_keys_and_names) {
  feed("{\"event\":\"n\x80\",\"k\xfe\":1}");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1, .invalid_utf8 = 1}));
  const OwnedEvent& event = only_event();
  EXPECT_EQ(event.name, "n\xef\xbf\xbd");
  EXPECT_EQ(event.at("k\xef\xbf\xbd").int_value, 1);
}

TEST_F(DecoderTest, invalid_utf8_in_broken_json_counts_both) {
  feed("{\"event\":\"x\xff");
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .malformed_json = 1, .invalid_utf8 = 1}));
}

TEST_F(DecoderTest, oversized_line_is_rejected) {
  make(DecodeOptions{.max_line_bytes = 64, .max_fields = 128});
  feed(R"({"event":"x","pad":")" + std::string(100, 'a') + "\"}");
  feed(R"({"event":"small"})");
  EXPECT_EQ(counts(), (Counts{.lines = 2, .documents = 2, .events = 1, .oversized = 1}));
  EXPECT_EQ(only_event().name, "small");
}

TEST_F(DecoderTest, megabyte_lines) {
  const std::string big(1000 * 1000, 'x');
  feed(R"({"event":"big","blob":")" + big + R"(","n":1})");
  // The same inside a printf record, escaped quotes and all.
  feed(R"({"type":"printf","data":"{\"event\":\"big2\",\"blob\":\")" + big + R"(\"}\n"})");
  feed(std::string(1 << 20, '{'));
  feed(std::string((1 << 20) + 1, ' '));
  EXPECT_EQ(counts(), (Counts{.lines = 4, .documents = 4, .events = 2, .malformed_json = 1, .oversized = 1}));
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[0].at("blob").string_value.size(), big.size());
  EXPECT_EQ(sink_.events[0].at("n").int_value, 1);
  EXPECT_EQ(sink_.events[1].at("blob").string_value, big);
}

TEST_F(DecoderTest, deep_nesting) {
  const auto nested = [](int depth) {
    return R"({"event":"deep","keep":1,"a":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  feed(nested(100));  // fine: the nested field is dropped
  EXPECT_EQ(counts(), (Counts{.lines = 1, .documents = 1, .events = 1, .wrong_type = 1, .wrong_type_fields = 1}));
  EXPECT_EQ(only_event().at("keep").int_value, 1);
  feed(nested(100000));  // far beyond any parser depth limit: must not crash, one outcome
  feed(std::string(100000, '[') + std::string(100000, ']'));
  feed(std::string(50000, '['));
  const Counts c = counts();
  EXPECT_EQ(c.lines, 4u);
  EXPECT_EQ(c.events + c.malformed_json + c.not_an_object + c.wrong_type - c.wrong_type_fields, 4u) << c;
}

TEST_F(DecoderTest, views_are_valid_during_on_event_across_records) {
  // A long first record then a short one: nothing may leak from the first.
  feed(R"({"type":"printf","data":"{\"event\":\"a\",\"s\":\"0123456789abcdef\"}\n{\"event\":\"b\"}\n"})");
  feed(R"({"type":"value","data":["c","s","x"]})");
  ASSERT_EQ(sink_.events.size(), 3u);
  EXPECT_EQ(sink_.events[0].at("s").string_value, "0123456789abcdef");
  EXPECT_TRUE(sink_.events[1].fields.empty());
  EXPECT_EQ(sink_.events[2].at("s").string_value, "x");
}

// --- robustness ---------------------------------------------------------------

// Valid lines of every shape, cut up and corrupted at random, plus random bytes.
TEST_F(DecoderTest, garbled_lines_never_crash_and_counters_add_up) {
  const std::vector<std::string> seeds = {
      R"({"type": "printf", "data": "{\"event\":\"http_request_start\",\"request_id\":7,\"method\":\"GET\"}\n"})",
      R"({"type": "printf", "data": "{\"event\":\"a\"}\n{\"event\":\"b\",\"data\":{\"x\":[1]}}\n"})",
      R"({"type": "value", "data": ["http_request_end","request_id",42,"status",200,"uri","/a\"b"]})",
      R"({"event":"db_query","request_id":"42","duration":1.5e3,"ok":true,"data":{"n":-1}})",
      R"({"type": "lost_events", "data": {"events": 3}})",
      R"({"type": "attached_probes", "data": {"probes": 1}})",
      R"({"type": "map", "data": {"@x": {"1": 2}}})",
      "{\"event\":\"u\",\"s\":\"\xc3\xa9\xe2\x82\xac\"}",
  };
  std::mt19937_64 rng(20261126);
  const auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  static constexpr char kAlphabet[] = "{}[]\":,\\ \n\t0123456789-+.eEtrufalsn\x80\xbf\xc3\xe2\xf0\xff\x00" "abc";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);
  make(DecodeOptions{.max_line_bytes = 4096, .max_fields = 8});
  constexpr int kLines = 100000;
  for (int i = 0; i < kLines; ++i) {
    std::string line;
    if (pick(10) == 0) {
      const size_t size = pick(200);
      for (size_t k = 0; k < size; ++k) line.push_back(static_cast<char>(rng()));
    } else {
      line = seeds[pick(seeds.size())];
      const size_t edits = pick(4);
      for (size_t e = 0; e < edits && !line.empty(); ++e) {
        const size_t at = pick(line.size());
        switch (pick(5)) {
          case 0: line[at] = alphabet[pick(alphabet.size())]; break;
          case 1: line.erase(at, 1 + pick(8)); break;
          case 2: line.insert(at, 1, alphabet[pick(alphabet.size())]); break;
          case 3: line.resize(at); break;
          case 4: line.insert(at, line.substr(0, pick(line.size()))); break;
        }
      }
      if (pick(500) == 0) line.append(5000, 'z');
    }
    feed(line);
  }
  const Counts c = counts();
  EXPECT_EQ(c.lines, static_cast<uint64_t>(kLines));
  EXPECT_GE(c.documents, c.lines);
  EXPECT_EQ(c.documents, c.events + c.ignored_records + c.malformed_json + c.not_an_object + c.missing_event +
                             c.oversized + (c.wrong_type - c.wrong_type_fields))
      << c;
  EXPECT_EQ(sink_.events.size(), c.events);
  // The mix must actually exercise the outcomes, or this test proves little.
  EXPECT_GT(c.events, 10000u) << c;
  EXPECT_GT(c.malformed_json, 10000u) << c;
  EXPECT_GT(c.not_an_object, 0u) << c;
  EXPECT_GT(c.missing_event, 0u) << c;
  EXPECT_GT(c.invalid_utf8, 0u) << c;
  EXPECT_GT(c.oversized, 0u) << c;
  EXPECT_GT(c.wrong_type_fields, 0u) << c;
  EXPECT_GT(c.ignored_records, 0u) << c;
}

}  // namespace
}  // namespace bto
