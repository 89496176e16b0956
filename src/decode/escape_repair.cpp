#include "decode/escape_repair.h"

#include <cstring>

#include "decode/utf8.h"

namespace bto {
namespace {

constexpr std::string_view kPrefix = "\\uffffff";
constexpr size_t kEscapeBytes = 10;  // \uffffffXX

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte of a \uffffffXX escape at `at` (a backslash that starts an
// escape), or -1 when there is none there. Only bytes >= 0x80 are
// sign-extended, so anything else is an ordinary (if odd) escape.
int escaped_byte(std::string_view line, size_t at) noexcept {
  if (line.size() - at < kEscapeBytes) return -1;
  for (size_t k = 2; k < kPrefix.size(); ++k) {
    const char c = line[at + k];
    if (c != 'f' && c != 'F') return -1;
  }
  if (line[at + 1] != 'u') return -1;
  const int high = hex_digit(line[at + 8]);
  const int low = hex_digit(line[at + 9]);
  if (high < 8 || low < 0) return -1;
  return high * 16 + low;
}

// Bytes of a valid UTF-8 text stay as they are under sanitize_utf8.
bool is_utf8(std::string_view bytes, char* scratch) noexcept {
  return sanitize_utf8(bytes, scratch) == bytes.size() && std::memcmp(scratch, bytes.data(), bytes.size()) == 0;
}

}  // namespace

bool SignExtendedEscapes::present(std::string_view line) noexcept {
  return line.find(kPrefix) != std::string_view::npos;
}

size_t SignExtendedEscapes::repair(std::string_view line, char* out, EscapeRepairCounts& counts) {
  size_t o = 0;
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c != '\\') {
      out[o++] = c;
      ++i;
      continue;
    }
    if (escaped_byte(line, i) < 0) {
      // Any other escape (\\, \", \n, \u00e9, ...) is copied whole, so the
      // backslash of "\\uffffffc3" (an escaped backslash, then text) is never
      // taken for the start of an escape.
      out[o++] = c;
      if (i + 1 < line.size()) out[o++] = line[i + 1];
      i += 2;
      continue;
    }
    run_.clear();
    for (int byte; i < line.size() && (byte = escaped_byte(line, i)) >= 0; i += kEscapeBytes) {
      run_.push_back(static_cast<char>(byte));
    }
    ++counts.runs;
    // sanitize_utf8 writes at most 3 bytes per byte of the run, which came
    // from 10 bytes of the line: it fits in what the run took up.
    const size_t run = run_.size();
    run_.resize(run * (1 + kUtf8SanitizeGrowth));
    char* scratch = run_.data() + run;
    if (is_utf8(std::string_view(run_.data(), run), scratch)) {
      std::memcpy(out + o, run_.data(), run);
      o += run;
    } else {
      ++counts.unrepairable;
      o += sanitize_utf8(std::string_view(run_.data(), run), out + o);
    }
  }
  return o;
}

}  // namespace bto
