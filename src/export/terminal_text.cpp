#include "export/terminal_text.h"

#include <charconv>
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

// Plain bytes need nothing: printable ASCII, and UTF-8 lead bytes that cannot
// start a C1 control (0xc2) or a bidi control (0xe2); `"` and `\` when quoted.
bool is_plain(uint8_t c, bool quoted) noexcept {
  if (c < 0x20 || c == 0x7f || c == 0xc2 || c == 0xe2) return false;
  return !quoted || (c != '"' && c != '\\');
}

bool append_escaped(std::string& out, std::string_view text, size_t max_bytes, bool quoted) {
  const size_t start = out.size();
  // The common case: nothing to escape and short enough, in one append.
  if (text.size() <= max_bytes) {
    size_t plain = 0;
    while (plain < text.size() && is_plain(static_cast<uint8_t>(text[plain]), quoted)) ++plain;
    out.append(text.data(), plain);
    text.remove_prefix(plain);
    if (text.empty()) return false;
  }
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
  std::string out;
  append_duration_ns(out, ns);
  return out;
}

// Integer arithmetic only (this runs per span line): value / unit rounded to
// `decimals` places, as printf("%.*f") would.
void append_duration_ns(std::string& out, uint64_t ns) {
  char digits[32];
  if (ns >= 100'000'000'000'000'000ull) {  // over three years: whole seconds (no overflow below)
    out.append(digits, std::to_chars(digits, digits + sizeof digits, ns / 1'000'000'000).ptr);
    out += "s";
    return;
  }
  uint64_t unit = 1;
  int decimals = 0;
  const char* suffix = "ns";
  if (ns >= 1'000'000'000) {
    unit = 1'000'000'000, decimals = 2, suffix = "s";
  } else if (ns >= 1'000'000) {
    unit = 1'000'000, decimals = 2, suffix = "ms";
  } else if (ns >= 1'000) {
    unit = 1'000, decimals = 1, suffix = "us";
  }
  const uint64_t scale = decimals == 2 ? 100 : decimals == 1 ? 10 : 1;
  const uint64_t scaled = (ns * scale + unit / 2) / unit;
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, scaled / scale);
  (void)ec;
  out.append(digits, end);
  if (decimals > 0) {
    out.push_back('.');
    const uint64_t fraction = scaled % scale;
    if (decimals == 2 && fraction < 10) out.push_back('0');
    end = std::to_chars(digits, digits + sizeof digits, fraction).ptr;
    out.append(digits, end);
  }
  out += suffix;
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
  // Only what is shown is looked at: a value cut to max_bytes is quoted.
  const bool bare = !text.empty() && text.size() <= max_bytes &&
                    text.find_first_of(" \"=\\") == std::string_view::npos && !needs_terminal_escape(text);
  if (bare) {
    append_escaped(out, text, max_bytes, false);
    return;
  }
  out.push_back('"');
  append_escaped(out, text, max_bytes, true);
  out.push_back('"');
}

std::string_view kind_name(SpanKind kind) noexcept {
  switch (kind) {
    case SpanKind::kInternal: return "internal";
    case SpanKind::kServer: return "server";
    case SpanKind::kClient: return "client";
    case SpanKind::kProducer: return "producer";
    case SpanKind::kConsumer: return "consumer";
    case SpanKind::kUnspecified: break;
  }
  return "unspecified";
}

std::string_view status_name(StatusCode status) noexcept {
  switch (status) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kError: return "error";
    case StatusCode::kUnset: break;
  }
  return "unset";
}

}  // namespace bto
