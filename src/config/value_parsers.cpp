#include "config/value_parsers.h"

#include <charconv>
#include <string>

namespace bto {

std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

namespace {

// "  250ms " -> 250 and "ms": leading digits, then the rest as the unit.
std::optional<uint64_t> split_number(std::string_view text, std::string_view& unit) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  unit = text.substr(digits);
  return parse_unsigned(text.substr(0, digits));
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text,
                                                       std::chrono::nanoseconds bare_unit) {
  std::string_view unit;
  const auto number = split_number(text, unit);
  if (!number) return std::nullopt;
  using std::chrono::nanoseconds;
  int64_t scale = 0;
  if (unit.empty()) {
    scale = bare_unit.count();
  } else if (unit == "ns") {
    scale = 1;
  } else if (unit == "us") {
    scale = 1'000;
  } else if (unit == "ms") {
    scale = 1'000'000;
  } else if (unit == "s") {
    scale = 1'000'000'000;
  } else if (unit == "m") {
    scale = 60'000'000'000;
  } else if (unit == "h") {
    scale = 3'600'000'000'000;
  } else {
    return std::nullopt;
  }
  // Reject values that would overflow 64-bit nanoseconds (~292 years).
  if (*number > static_cast<uint64_t>(INT64_MAX / scale)) return std::nullopt;
  return nanoseconds(static_cast<int64_t>(*number) * scale);
}

std::optional<uint64_t> parse_size(std::string_view text) {
  std::string_view suffix;
  const auto number = split_number(text, suffix);
  if (!number) return std::nullopt;
  std::string unit(suffix);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  for (char& c : unit) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  static constexpr struct {
    const char* name;
    uint64_t scale;
  } kUnits[] = {{"", 1},           {"B", 1},
                {"K", 1ull << 10}, {"KIB", 1ull << 10}, {"KB", 1000},
                {"M", 1ull << 20}, {"MIB", 1ull << 20}, {"MB", 1000'000},
                {"G", 1ull << 30}, {"GIB", 1ull << 30}, {"GB", 1000'000'000},
                {"T", 1ull << 40}, {"TIB", 1ull << 40}, {"TB", 1000'000'000'000}};
  for (const auto& candidate : kUnits) {
    if (unit != candidate.name) continue;
    if (*number > UINT64_MAX / candidate.scale) return std::nullopt;
    return *number * candidate.scale;
  }
  return std::nullopt;
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

}  // namespace bto
