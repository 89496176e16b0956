#pragma once
// Private to decode/: undoes bpftrace's escaping of non-ASCII bytes.
//
// bpftrace's JSON writer (0.17 to at least 0.27) escapes every string byte
// >= 0x80 as \u plus the sign-extended char in hex: "café" is printed as
// "caf\uffffffc3\uffffffa9". To a JSON parser that is U+FFFF followed by the
// text "ffc3": the UTF-8 is lost. The repair turns each such escape back into
// its byte (the line then holds "café" as raw UTF-8, which JSON allows), before
// the line is parsed. Bytes that do not form valid UTF-8 (a string cut inside
// a character, Latin-1 data) become U+FFFD and are counted.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bto {

struct EscapeRepairCounts {
  uint32_t runs = 0;          // runs of consecutive escapes turned back into bytes
  uint32_t unrepairable = 0;  // of those, runs holding bytes that are not UTF-8 (replaced by U+FFFD)
};

class SignExtendedEscapes {
 public:
  // Whether `line` may hold such escapes (a fast search; false is certain).
  static bool present(std::string_view line) noexcept;

  // Copies `line` to `out` (room for line.size() bytes: the result is never
  // longer) with every \uffffffXX escape (XX >= 80, outside an escaped
  // backslash) replaced by its byte. Returns the bytes written.
  size_t repair(std::string_view line, char* out, EscapeRepairCounts& counts);

 private:
  std::string run_;  // the bytes of one run of escapes; grows, never shrinks
};

}  // namespace bto
