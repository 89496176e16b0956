// Decoding what each bpftrace version really prints (docs/compatibility.md):
// the recordings of tests/data/bpftrace/<version>/ (record.sh) plus the
// shapes only some versions have. 0.17 and 0.23 print ids >= 2^63 as bare
// numbers, 0.27 as strings; every version escapes non-ASCII bytes as
// \uffffffXX; 0.25+ print records.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "decode/decoder.h"

namespace bto {
namespace {

const std::filesystem::path kRecordings = std::filesystem::path(BTO_SOURCE_DIR) / "tests/data/bpftrace";
const std::vector<std::string> kVersions = {"0.17.0", "0.23.2", "0.27.1"};

struct Owned {
  std::string name;
  std::vector<std::pair<std::string, FieldValue>> fields;
  std::vector<std::string> strings;  // keeps string_value alive

  const FieldValue* find(const std::string& key) const {
    for (const auto& [k, v] : fields) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  std::string text(const std::string& key) const {
    const FieldValue* v = find(key);
    if (v == nullptr) return "<missing>";
    if (v->type == ValueType::kString) return std::string(v->string_value);
    if (v->type == ValueType::kInt) return std::to_string(v->int_value);
    return "<other type>";
  }
};

class Sink : public EventSink {
 public:
  void on_event(const Event& event) override {
    Owned owned{std::string(event.name), {}, {}};
    owned.strings.reserve(event.fields.size());
    for (const EventField& field : event.fields) {
      FieldValue value = field.value;
      if (value.type == ValueType::kString) {
        owned.strings.emplace_back(value.string_value);
        value.string_value = owned.strings.back();
      }
      owned.fields.emplace_back(std::string(field.key), value);
    }
    events.push_back(std::move(owned));
  }
  void on_lost_events(uint64_t count) override { lost += count; }

  std::vector<Owned> events;
  uint64_t lost = 0;
};

class Decoding {
 public:
  Decoding() : decoder_(create_decoder(DecodeOptions{}, stats)) {}

  void feed(std::string_view line) {
    // Exactly kLinePadding readable bytes after the line, as LineReader gives.
    auto buffer = std::make_unique<char[]>(line.size() + kLinePadding);
    std::memcpy(buffer.get(), line.data(), line.size());
    std::memset(buffer.get() + line.size(), '}', kLinePadding);
    decoder_->decode_line(std::string_view(buffer.get(), line.size()), sink);
  }
  void feed_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    for (std::string line; std::getline(in, line);) feed(line);
  }
  const Owned* event(const std::string& name) const {
    for (const Owned& e : sink.events) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }

  DecodeStats stats;
  Sink sink;

 private:
  std::unique_ptr<Decoder> decoder_;
};

TEST(BpftraceVersionsDecoding, tuples_and_printf_of_every_version) {
  for (const std::string& version : kVersions) {
    SCOPED_TRACE(version);
    Decoding d;
    d.feed_file(kRecordings / version / "shapes.out");
    const Owned* tuple = d.event("shape_tuple");
    ASSERT_NE(tuple, nullptr);
    EXPECT_EQ(tuple->text("request_id"), "42");
    // >= 2^63: a bare number on 0.17/0.23, a string on 0.27; the same exact digits either way.
    EXPECT_EQ(tuple->text("big"), "18446744069414584321");
    EXPECT_EQ(tuple->find("big")->type, ValueType::kString);
    EXPECT_EQ(tuple->text("neg"), "-5");
    EXPECT_EQ(tuple->text("word"), "caf\xc3\xa9");  // \uffffffc3\uffffffa9 repaired
    const Owned* printed = d.event("shape_printf");
    ASSERT_NE(printed, nullptr);
    EXPECT_EQ(printed->text("request_id"), "18446744069414584321");
    EXPECT_EQ(printed->text("word"), "caf\xc3\xa9");
    EXPECT_EQ(d.stats.escapes_repaired.load(), 2u);
    EXPECT_EQ(d.stats.escapes_unrepairable.load(), 0u);
    EXPECT_EQ(d.stats.invalid_utf8.load(), 0u);
    EXPECT_EQ(d.stats.malformed_total(), 0u);
  }
}

TEST(BpftraceVersionsDecoding, http_tuples_of_every_version) {
  for (const std::string& version : kVersions) {
    SCOPED_TRACE(version);
    for (const char* recording : {"http_pid.out", "http_pid_binary.out"}) {
      Decoding d;
      d.feed_file(kRecordings / version / recording);
      EXPECT_GT(d.sink.events.size(), 0u) << recording;
      for (const Owned& e : d.sink.events) {
        EXPECT_TRUE(e.name == "http_request_start" || e.name == "http_request_end") << e.name;
        EXPECT_EQ(e.find("request_id")->type, ValueType::kInt);
      }
      EXPECT_EQ(d.stats.malformed_total(), 0u);
      EXPECT_EQ(d.stats.ignored_records.load() + d.stats.events.load(), d.stats.documents.load());
    }
  }
}

// 0.27 with -p PID and the binary's path: every USDT event twice (what the
// source prevents by passing /proc/PID/root/<path>; docs/compatibility.md).
TEST(BpftraceVersionsDecoding, the_double_attach_of_0_27_is_in_its_output) {
  Decoding d;
  d.feed_file(kRecordings / "0.27.1" / "http_pid_binary.out");
  size_t starts = 0;
  std::vector<int64_t> ids;
  for (const Owned& e : d.sink.events) {
    if (e.name == "http_request_start") ids.push_back(e.find("request_id")->int_value), ++starts;
  }
  ASSERT_GE(starts, 2u);
  EXPECT_EQ(ids[0], ids[1]) << "each start arrives twice";
}

TEST(BpftraceVersionsDecoding, records_of_0_27) {
  Decoding d;
  d.feed_file(kRecordings / "0.27.1" / "record.out");
  const Owned* record = d.event("shape_record");
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->text("request_id"), "18446744069414584321");
  EXPECT_EQ(record->text("word"), "a\"b");
  EXPECT_EQ(d.stats.not_an_object.load(), 0u);
  EXPECT_EQ(d.stats.events.load(), 1u);
}

TEST(BpftraceVersionsDecoding, record_shapes) {
  Decoding d;
  // Fields keep their order and types; "event" may come anywhere.
  d.feed(R"({"type": "value", "data": {"request_id": 7, "event": "x_start", "uri": "/a", "ok": true}})");
  const Owned* e = d.event("x_start");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->fields.size(), 3u);
  EXPECT_EQ(e->fields[0].first, "request_id");
  EXPECT_EQ(e->text("uri"), "/a");
  EXPECT_EQ(e->find("ok")->type, ValueType::kBool);
  // "data" before "type".
  d.feed(R"({"data": {"event": "y_start", "request_id": 8}, "type": "value"})");
  EXPECT_NE(d.event("y_start"), nullptr);
  EXPECT_EQ(d.stats.events.load(), 2u);
  // A record that is not an event: no name, or a name that is not a string.
  d.feed(R"({"type": "value", "data": {"a": 1, "b": 2}})");
  EXPECT_EQ(d.stats.missing_event.load(), 1u);
  d.feed(R"({"type": "value", "data": {"event": 5, "b": 2}})");
  EXPECT_EQ(d.stats.wrong_type.load(), 1u);
  // Nested values are dropped and counted; the event is delivered.
  d.feed(R"({"type": "value", "data": {"event": "z", "inner": {"k": 1}, "n": 3}})");
  ASSERT_NE(d.event("z"), nullptr);
  EXPECT_EQ(d.event("z")->text("n"), "3");
  EXPECT_EQ(d.stats.wrong_type_fields.load(), 1u);
  // The accounting identity of decoder.h holds.
  const DecodeStats& s = d.stats;
  EXPECT_EQ(s.documents.load(), s.events + s.ignored_records + s.malformed_json + s.not_an_object + s.missing_event +
                                    s.oversized + (s.wrong_type - s.wrong_type_fields));
}

TEST(BpftraceVersionsDecoding, lost_events_records_of_every_shape) {
  Decoding d;
  d.feed(R"({"type": "lost_events", "data": {"events": 145250}})");                  // 0.17, 0.23
  d.feed(R"({"type": "lost_events", "count": 1820, "data": {"events": 1820}})");     // 0.27
  EXPECT_EQ(d.stats.lost_events.load(), 147070u);
  EXPECT_EQ(d.sink.lost, 147070u);
}

TEST(BpftraceVersionsDecoding, a_cut_character_becomes_a_replacement_and_is_counted) {
  Decoding d;
  d.feed(R"({"type": "value", "data": ["x_start","request_id",1,"uri","/aa\uffffffc3"]})");
  const Owned* e = d.event("x_start");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->text("uri"), "/aa\xef\xbf\xbd");
  EXPECT_EQ(d.stats.escapes_repaired.load(), 1u);
  EXPECT_EQ(d.stats.escapes_unrepairable.load(), 1u);
  EXPECT_EQ(d.stats.invalid_utf8.load(), 0u);
}

}  // namespace
}  // namespace bto
