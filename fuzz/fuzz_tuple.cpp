// Structured fuzzing of the tuple shape, {"type":"value","data":[name, k, v, ...]}:
// the fuzz bytes choose each element's type and content, so nearly every input
// is JSON that reaches read_tuple(). When the generator produced a clean tuple
// (valid JSON, string keys, supported value types, non-empty name) the decoded
// event must match it exactly: name, field order, keys and values.

#include <fuzzer/FuzzedDataProvider.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "decode/decoder.h"
#include "fuzz_support.h"

namespace {

using namespace bto;

struct Expected {
  std::string key;
  ValueType type{};
  int64_t int_value = 0;
  bool bool_value = false;
  std::string string_value;
};

// JSON string literal of `text`; `text` must be valid UTF-8 for a clean tuple.
void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

std::string ascii_text(FuzzedDataProvider& in, size_t max) {
  std::string s = in.ConsumeRandomLengthString(max);
  for (char& c : s) c = static_cast<char>(0x20 + (static_cast<unsigned char>(c) % 0x5f));
  return s;
}

class TupleSink final : public EventSink {
 public:
  void on_event(const Event& event) override {
    ++events;
    name.assign(event.name);
    fields.clear();
    for (const EventField& f : event.fields) {
      Expected e;
      e.key.assign(f.key);
      e.type = f.value.type;
      e.int_value = f.value.int_value;
      e.bool_value = f.value.bool_value;
      e.string_value.assign(f.value.string_value);
      fields.push_back(std::move(e));
    }
  }
  void on_lost_events(uint64_t) override {}
  uint64_t events = 0;
  std::string name;
  std::vector<Expected> fields;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static DecodeStats stats;
  static std::unique_ptr<Decoder> decoder = create_decoder(DecodeOptions{}, stats);
  FuzzedDataProvider in(data, size);

  bool clean = true;
  std::vector<Expected> expected;
  std::string line = R"({"type":"value","data":[)";
  // The name: usually a plain string; sometimes raw bytes or not a string at all.
  std::string name;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
    case 1:
      name = ascii_text(in, 40);
      append_json_string(line, name);
      if (name.empty()) clean = false;
      break;
    case 2: {
      const std::string raw = in.ConsumeRandomLengthString(40);
      line += '"' + raw + '"';
      clean = false;
      break;
    }
    default:
      line += std::to_string(in.ConsumeIntegral<int64_t>());
      clean = false;
      break;
  }
  const int elements = in.ConsumeIntegralInRange<int>(0, 160);
  bool want_key = true;
  std::string pending_key;
  for (int i = 0; i < elements && in.remaining_bytes() > 0; ++i) {
    line += ',';
    const int kind = in.ConsumeIntegralInRange<int>(0, 11);
    Expected value;
    bool supported = true;
    bool json_string = false;  // a JSON string in the line (only those are keys)
    switch (kind) {
      case 0:
      case 1:
      case 2: {
        value.type = ValueType::kString;
        value.string_value = ascii_text(in, 64);
        append_json_string(line, value.string_value);
        json_string = true;
        break;
      }
      case 3:
      case 4:
        value.type = ValueType::kInt;
        value.int_value = in.ConsumeIntegral<int64_t>();
        line += std::to_string(value.int_value);
        break;
      case 5:
        value.type = ValueType::kBool;
        value.bool_value = in.ConsumeBool();
        line += value.bool_value ? "true" : "false";
        break;
      case 6:
      {
        value.type = ValueType::kDouble;
        const double d = in.ConsumeFloatingPoint<double>();
        if (!std::isfinite(d)) clean = false;  // "inf" is not JSON
        line += std::to_string(d);
        break;
      }
      case 7:
        // Beyond int64 (an id from a pointer or hash): its exact digits, as a string.
        value.type = ValueType::kString;
        value.string_value = std::to_string(in.ConsumeIntegralInRange<uint64_t>(uint64_t{1} << 63, UINT64_MAX));
        line += value.string_value;
        break;
      case 8:
        line += "null";
        supported = false;
        break;
      case 9:
        line += in.ConsumeBool() ? R"({"a":[1,{"b":2}]})" : "[1,2,[3]]";
        supported = false;
        break;
      case 10:
        // Raw bytes: broken escapes, invalid UTF-8, unbalanced brackets.
        line += in.ConsumeRandomLengthString(32);
        clean = false;
        break;
      default:
        line += "1" + std::string(static_cast<size_t>(in.ConsumeIntegralInRange<int>(20, 300)), '0');
        value.type = ValueType::kDouble;  // an integer beyond 64 bits
        break;
    }
    if (want_key) {
      if (!json_string || !supported) {
        clean = false;  // a non-string key drops the pair
        // The pair is skipped whole: its value slot follows.
      }
      pending_key = value.string_value;
      want_key = false;
      continue;
    }
    want_key = true;
    if (!supported) {
      clean = false;
      continue;
    }
    value.key = pending_key;
    expected.push_back(std::move(value));
  }
  if (!want_key) clean = false;  // dangling key
  line += "]}";
  if (in.ConsumeBool()) {
    const std::string trailing = in.ConsumeRemainingBytesAsString();
    if (!trailing.empty()) clean = false;
    line += trailing;
  }
  if (expected.size() > DecodeOptions{}.max_fields) clean = false;

  TupleSink sink;
  const fuzz::PaddedLine copy(line);
  decoder->decode_line(copy.view(), sink);
  fuzz::check_decode_identity(stats);
  BTO_FUZZ_CHECK(sink.events <= 1);

  if (clean && line.size() <= DecodeOptions{}.max_line_bytes) {
    BTO_FUZZ_CHECK(sink.events == 1);
    BTO_FUZZ_CHECK(sink.name == name);
    BTO_FUZZ_CHECK(sink.fields.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const Expected& want = expected[i];
      const Expected& got = sink.fields[i];
      BTO_FUZZ_CHECK(got.key == want.key);
      BTO_FUZZ_CHECK(got.type == want.type);
      if (want.type == ValueType::kInt) BTO_FUZZ_CHECK(got.int_value == want.int_value);
      if (want.type == ValueType::kBool) BTO_FUZZ_CHECK(got.bool_value == want.bool_value);
      if (want.type == ValueType::kString) BTO_FUZZ_CHECK(got.string_value == want.string_value);
    }
  }
  return 0;
}
