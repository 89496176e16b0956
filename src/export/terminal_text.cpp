#include "export/terminal_text.h"

#include <fmt/format.h>

#include <cstdint>

namespace bto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the escape-worthy character at `text[i]` (0: none): C0, DEL, C1
// (U+0080..U+009F, UTF-8 C2 80..C2 9F), U+202A..U+202E, U+2066..U+2069.
size_t unsafe_length(std::string_view text, size_t i) noexcept {
  const auto c = static_cast<uint8_t>(text[i]);
  if (c < 0x20 || c == 0x7f) return 1;
  if (c == 0xc2 && i + 1 < text.size()) {
    const auto next = static_cast<uint8_t>(text[i + 1]);
    if (next >= 0x80 && next <= 0x9f) return 2;
  }
  if (c == 0xe2 && i + 2 < text.size()) {
    const auto b1 = static_cast<uint8_t>(text[i + 1]);
    const auto b2 = static_cast<uint8_t>(text[i + 2]);
    if ((b1 == 0x80 && b2 >= 0xaa && b2 <= 0xae) || (b1 == 0x81 && b2 >= 0xa6 && b2 <= 0xa9)) return 3;
  }
  return 0;
}

void append_escape(std::string& out, std::string_view character) {
  const auto c = static_cast<uint8_t>(character[0]);
  if (character.size() == 1) {
    switch (c) {
      case '\n': out += "\\n"; return;
      case '\r': out += "\\r"; return;
      case '\t': out += "\\t"; return;
      case 0x1b: out += "\\e"; return;
      default:
        out += "\\x";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
        return;
    }
  }
  // Decode the 2- or 3-byte sequence into its code point.
  uint32_t code = 0;
  if (character.size() == 2) {
    code = ((c & 0x1fu) << 6) | (static_cast<uint8_t>(character[1]) & 0x3fu);
  } else {
    code = ((c & 0x0fu) << 12) | ((static_cast<uint8_t>(character[1]) & 0x3fu) << 6) |
           (static_cast<uint8_t>(character[2]) & 0x3fu);
  }
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(code >> shift) & 0xf]);
}

bool is_continuation(char c) noexcept { return (static_cast<uint8_t>(c) & 0xc0) == 0x80; }

bool append_escaped(std::string& out, std::string_view text, size_t max_bytes, bool quoted) {
  const size_t start = out.size();
  size_t i = 0;
  while (i < text.size()) {
    if (out.size() - start >= max_bytes && !is_continuation(text[i])) {
      out += "…";
      return true;
    }
    const size_t unsafe = unsafe_length(text, i);
    if (unsafe != 0) {
      append_escape(out, text.substr(i, unsafe));
      i += unsafe;
      continue;
    }
    const char c = text[i];
    if (quoted && (c == '"' || c == '\\')) out.push_back('\\');
    out.push_back(c);
    ++i;
  }
  return false;
}

}  // namespace

std::string format_duration_ns(uint64_t ns) {
  if (ns < 1'000) return fmt::format("{}ns", ns);
  if (ns < 1'000'000) return fmt::format("{:.1f}us", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000) return fmt::format("{:.2f}ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f}s", static_cast<double>(ns) / 1e9);
}

bool needs_terminal_escape(std::string_view text) noexcept {
  for (size_t i = 0; i < text.size(); ++i) {
    if (unsafe_length(text, i) != 0) return true;
  }
  return false;
}

bool append_terminal_safe(std::string& out, std::string_view text, size_t max_bytes) {
  return append_escaped(out, text, max_bytes, false);
}

void append_text_value_quoted(std::string& out, std::string_view text, size_t max_bytes) {
  const bool bare = !text.empty() && text.find_first_of(" \"=\\") == std::string_view::npos &&
                    !needs_terminal_escape(text);
  if (bare) {
    append_escaped(out, text, max_bytes, false);
    return;
  }
  out.push_back('"');
  append_escaped(out, text, max_bytes, true);
  out.push_back('"');
}

}  // namespace bto
