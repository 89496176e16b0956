#include "spans/trace_context.h"

#include <array>
#include <chrono>
#include <cstring>
#include <random>
#include <span>

namespace bto {
namespace {

// Digit values, 0x10 for "not a hex digit"; uppercase digits have 0x20 added
// so lowercase-only parsing can reject them with one mask.
constexpr std::array<uint8_t, 256> kHexValue = [] {
  std::array<uint8_t, 256> table{};
  for (uint8_t& entry : table) entry = 0x10;
  for (int c = '0'; c <= '9'; ++c) table[static_cast<size_t>(c)] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) table[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'A' + 10 + 0x20);
  return table;
}();

// Exactly 2 * out.size() hex digits.
bool parse_hex(std::string_view text, std::span<uint8_t> out, bool allow_upper) noexcept {
  if (text.size() != out.size() * 2) return false;
  const uint8_t reject = allow_upper ? 0x10 : 0x30;
  uint8_t bad = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t high = kHexValue[static_cast<uint8_t>(text[2 * i])];
    const uint8_t low = kHexValue[static_cast<uint8_t>(text[2 * i + 1])];
    bad |= (high | low) & reject;
    out[i] = static_cast<uint8_t>((high & 0x0f) << 4 | (low & 0x0f));
  }
  return bad == 0;
}

// 8 lowercase hex digits at `text` -> 4 bytes, 8 digits per step (SWAR):
// the traceparent of a request is decoded on every start that carries one, and
// the table loop above took ~420 instructions for its 52 digits.
// Digit values: the low nibble, plus 9 for letters (bit 6). A byte is valid
// exactly when its value is below 16 and encoding the value back as a
// lowercase digit gives the byte itself; no lane can carry into the next.
[[gnu::always_inline]] inline bool parse_hex8_lower(const char* text, uint8_t* out) noexcept {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  uint64_t digits;
  std::memcpy(&digits, text, 8);
  const uint64_t letter = (digits >> 6) & kOnes;
  const uint64_t value = (digits & (0x0F * kOnes)) + letter * 9;
  if ((value & (0xF0 * kOnes)) != 0) return false;
  const uint64_t above_nine = ((value + 6 * kOnes) >> 4) & kOnes;
  if (value + 0x30 * kOnes + above_nine * 0x27 != digits) return false;
  // Little-endian: in each 16-bit lane the first digit is the high nibble.
  const uint64_t bytes = ((value & 0x0F000F000F000F00ULL) >> 8) | ((value & 0x000F000F000F000FULL) << 4);
  out[0] = static_cast<uint8_t>(bytes);
  out[1] = static_cast<uint8_t>(bytes >> 16);
  out[2] = static_cast<uint8_t>(bytes >> 32);
  out[3] = static_cast<uint8_t>(bytes >> 48);
  return true;
}

// The trace id (32 digits at text[3]) and the parent id (16 at text[36]).
// Every group is parsed, without short-circuit: no branch per group.
bool parse_ids_lower(const char* text, TraceId& trace, SpanId& span) noexcept {
  bool ok = parse_hex8_lower(text + 3, &trace[0]);
  ok &= parse_hex8_lower(text + 11, &trace[4]);
  ok &= parse_hex8_lower(text + 19, &trace[8]);
  ok &= parse_hex8_lower(text + 27, &trace[12]);
  ok &= parse_hex8_lower(text + 36, &span[0]);
  ok &= parse_hex8_lower(text + 44, &span[4]);
  return ok;
}

// Ids are 8 or 16 bytes: tested a word at a time.
bool all_zero(std::span<const uint8_t> bytes) noexcept {
  uint64_t any = 0;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    any |= word;
  }
  return any == 0;
}

uint64_t splitmix(uint64_t& x) noexcept {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

bool parse_traceparent(std::string_view text, RemoteContext& out) noexcept {
  if (text.size() < 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return false;
  uint8_t version = 0;
  if (!parse_hex(text.substr(0, 2), {&version, 1}, false) || version == 0xff) return false;
  if (version == 0 ? text.size() != 55 : text.size() > 55 && text[55] != '-') return false;
  uint8_t flags = 0;
  if (!parse_ids_lower(text.data(), out.trace_id, out.span_id) ||
      !parse_hex(text.substr(53, 2), {&flags, 1}, false)) {
    return false;
  }
  if (all_zero(out.trace_id) || all_zero(out.span_id)) return false;
  out.sampled = (flags & 0x01) != 0;
  return true;
}

bool parse_id_pair(std::string_view trace, std::string_view span, RemoteContext& out) noexcept {
  out.trace_id = {};
  const bool trace_ok = trace.size() == 16 ? parse_hex(trace, std::span(out.trace_id).subspan(8), true)
                                           : parse_hex(trace, out.trace_id, true);
  if (!trace_ok || !parse_hex(span, out.span_id, true)) return false;
  if (all_zero(out.trace_id) || all_zero(out.span_id)) return false;
  out.sampled = true;
  return true;
}

IdGenerator::IdGenerator() {
  uint64_t seed = 0;
  try {
    std::random_device device;
    seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  } catch (...) {
    seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  seed ^= reinterpret_cast<uintptr_t>(this);
  for (uint64_t& word : state_) word = splitmix(seed);
}

}  // namespace bto
