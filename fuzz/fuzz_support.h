#pragma once
// Shared by the fuzz targets: padded line copies, the decoder's accounting
// identity, and a crash that names the broken invariant.

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "decode/decoder.h"

namespace bto::fuzz {

// Invariant failures abort so libFuzzer saves the input like any crash.
#define BTO_FUZZ_CHECK(cond)                                                                    \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);        \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

// Logging would dominate the run time and the output; the counters are checked instead.
inline void quiet_logs() { spdlog::set_level(spdlog::level::off); }

// A heap copy with exactly kLinePadding readable bytes after the line, so an
// over-read past the padding the decoder is promised hits ASan's redzone.
class PaddedLine {
 public:
  explicit PaddedLine(std::string_view line)
      : size_(line.size()), data_(static_cast<char*>(std::malloc(line.size() + kLinePadding))) {
    if (!line.empty()) std::memcpy(data_.get(), line.data(), line.size());
    // Not zeros: LineReader's padding holds whatever followed the line.
    std::memset(data_.get() + size_, '}', kLinePadding);
  }
  std::string_view view() const noexcept { return {data_.get(), size_}; }

 private:
  struct Free {
    void operator()(char* p) const noexcept { std::free(p); }
  };
  size_t size_;
  std::unique_ptr<char, Free> data_;
};

// decoder.h: every document ends in exactly one outcome.
inline void check_decode_identity(const DecodeStats& s) {
  BTO_FUZZ_CHECK(s.wrong_type_fields.load() <= s.wrong_type.load());
  const uint64_t outcomes = s.events + s.ignored_records + s.malformed_json + s.not_an_object +
                            s.missing_event + s.oversized + (s.wrong_type - s.wrong_type_fields);
  if (s.documents.load() != outcomes) {
    std::fprintf(stderr,
                 "decode identity broken: documents=%lu events=%lu ignored=%lu malformed_json=%lu "
                 "not_an_object=%lu missing_event=%lu oversized=%lu wrong_type=%lu wrong_type_fields=%lu\n",
                 (unsigned long)s.documents.load(), (unsigned long)s.events.load(),
                 (unsigned long)s.ignored_records.load(), (unsigned long)s.malformed_json.load(),
                 (unsigned long)s.not_an_object.load(), (unsigned long)s.missing_event.load(),
                 (unsigned long)s.oversized.load(), (unsigned long)s.wrong_type.load(),
                 (unsigned long)s.wrong_type_fields.load());
    std::abort();
  }
  BTO_FUZZ_CHECK(s.documents.load() >= s.lines.load());
}

}  // namespace bto::fuzz
