// One fuzz input is (1) one line of bpftrace output, any shape, and (2) the
// same bytes split on '\n' and fed line by line through one long-lived decoder,
// which exercises parser reuse and scratch buffers growing and shrinking in use.
// After every line the accounting identity of decoder.h must hold, and every
// delivered event must be well formed (non-empty name, family a prefix of the
// name, valid UTF-8 strings, field count within max_fields).

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/saturating.h"
#include "decode/decoder.h"
#include "fuzz_support.h"

namespace {

using namespace bto;

class CheckingSink final : public EventSink {
 public:
  explicit CheckingSink(size_t max_fields) : max_fields_(max_fields) {}
  void on_event(const Event& event) override {
    BTO_FUZZ_CHECK(!event.name.empty());
    BTO_FUZZ_CHECK(event.name.substr(0, event.family.size()) == event.family);
    BTO_FUZZ_CHECK(event.fields.size() <= max_fields_);
    BTO_FUZZ_CHECK(simdjson::validate_utf8(event.name.data(), event.name.size()));
    for (const EventField& field : event.fields) {
      // Touch every byte: a dangling view shows up as a use-after-free.
      checksum_ += field.key.size();
      for (char c : field.key) checksum_ += static_cast<unsigned char>(c);
      BTO_FUZZ_CHECK(simdjson::validate_utf8(field.key.data(), field.key.size()));
      if (field.value.type == ValueType::kString) {
        const std::string_view s = field.value.string_value;
        BTO_FUZZ_CHECK(simdjson::validate_utf8(s.data(), s.size()));
        for (char c : s) checksum_ += static_cast<unsigned char>(c);
      }
    }
    ++events_;
  }
  void on_lost_events(uint64_t count) override { lost_ = saturating_sum(lost_, count); }  // as the decoder counts

  uint64_t events_ = 0;
  uint64_t lost_ = 0;
  uint64_t checksum_ = 0;

 private:
  size_t max_fields_;
};

void feed(Decoder& decoder, DecodeStats& stats, CheckingSink& sink, std::string_view line) {
  const uint64_t lines_before = stats.lines;
  const uint64_t events_before = sink.events_;
  const fuzz::PaddedLine copy(line);
  decoder.decode_line(copy.view(), sink);
  BTO_FUZZ_CHECK(stats.lines == lines_before + 1);
  BTO_FUZZ_CHECK(stats.events == sink.events_);
  BTO_FUZZ_CHECK(stats.lost_events == sink.lost_);
  (void)events_before;
  fuzz::check_decode_identity(stats);
}

// Long-lived, like the real reader thread: state carries across inputs.
struct Decoders {
  DecodeStats whole_stats;
  DecodeStats split_stats;
  DecodeStats small_stats;
  std::unique_ptr<Decoder> whole = create_decoder(DecodeOptions{}, whole_stats);
  std::unique_ptr<Decoder> split = create_decoder(DecodeOptions{}, split_stats);
  // Tiny limits: the oversized and dropped-field paths on ordinary inputs.
  std::unique_ptr<Decoder> small = create_decoder(DecodeOptions{.max_line_bytes = 96, .max_fields = 2},
                                                  small_stats);
  CheckingSink whole_sink{DecodeOptions{}.max_fields};
  CheckingSink split_sink{DecodeOptions{}.max_fields};
  CheckingSink small_sink{2};
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Decoders d;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  feed(*d.whole, d.whole_stats, d.whole_sink, input);

  size_t begin = 0;
  while (begin <= input.size()) {
    size_t end = input.find('\n', begin);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(begin, end - begin);
    feed(*d.split, d.split_stats, d.split_sink, line);
    feed(*d.small, d.small_stats, d.small_sink, line);
    begin = end + 1;
  }
  return 0;
}
