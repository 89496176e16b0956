#include "spans/trace_context.h"

#include <array>
#include <chrono>
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

bool all_zero(std::span<const uint8_t> bytes) noexcept {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
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
  if (!parse_hex(text.substr(3, 32), out.trace_id, false) || !parse_hex(text.substr(36, 16), out.span_id, false) ||
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
