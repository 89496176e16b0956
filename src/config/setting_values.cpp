#include "config/setting_values.h"

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "config/value_parsers.h"

namespace bto {

void reject_shown(const std::string& key, const std::string& source, const std::string& shown_value,
                  const std::string& accepted) {
  throw StartupError(fmt::format("invalid value {} for {} (from {}): expected {}", shown_value, key,
                                 source, accepted));
}

void reject(const std::string& key, const std::string& source, const std::string& value,
            const std::string& accepted) {
  reject_shown(key, source, fmt::format("'{}'", quote_bytes(value, 96)), accepted);
}

uint64_t count_or_reject(const std::string& key, const std::string& value,
                         const std::string& source, uint64_t min, uint64_t max) {
  const auto parsed = parse_unsigned(value);
  if (!parsed || *parsed < min || *parsed > max) {
    reject(key, source, value, fmt::format("an integer from {} to {}", min, max));
  }
  return *parsed;
}

namespace {

// The largest unit that shows `value` exactly, hours included.
std::string show_bound(std::chrono::nanoseconds value) {
  const auto ns = value.count();
  if (ns != 0 && ns % 3'600'000'000'000 == 0) return fmt::format("{}h", ns / 3'600'000'000'000);
  if (ns != 0 && ns % 60'000'000'000 == 0) return fmt::format("{}m", ns / 60'000'000'000);
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

}  // namespace

std::chrono::nanoseconds duration_or_reject(const std::string& key, const std::string& value,
                                            const std::string& source, const DurationRule& rule) {
  const auto parsed = parse_duration(value, rule.bare_unit);
  const bool zero = parsed && parsed->count() == 0;
  if (parsed && (zero ? rule.zero_means != nullptr : *parsed >= rule.min && *parsed <= rule.max)) return *parsed;
  std::string accepted = fmt::format("a duration from {} to {}, e.g. 500ms, 10s, 5m (a bare number is {})",
                                     show_bound(rule.min), show_bound(rule.max), show_bound(rule.bare_unit));
  if (rule.zero_means != nullptr) {
    accepted += fmt::format(", or 0: {}", rule.zero_means);
  } else if (zero && rule.zero_refused != nullptr) {
    accepted += fmt::format("; 0 is refused: {}", rule.zero_refused);
  }
  reject(key, source, value, accepted);
}

std::string show_time_limit(std::chrono::milliseconds value) {
  return value >= kNoTimeLimit ? std::string("0 (no limit)") : show_duration(value);
}

bool bool_or_reject(const std::string& key, const std::string& value, const std::string& source) {
  const auto parsed = parse_bool(value);
  if (!parsed) reject(key, source, value, "true or false");
  return *parsed;
}

std::string show_duration(std::chrono::nanoseconds value) {
  const auto ns = value.count();
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  return fmt::format("{}ns", ns);
}

std::string show_ms(std::chrono::milliseconds value) { return fmt::format("{}ms", value.count()); }

std::string show_bool(bool value) { return value ? "true" : "false"; }

std::string trim_spaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return std::string(text);
}

std::string show_size(uint64_t bytes) {
  static constexpr struct {
    const char* unit;
    uint64_t scale;
  } kUnits[] = {{"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}};
  for (const auto& unit : kUnits) {
    if (bytes >= unit.scale && bytes % unit.scale == 0) return fmt::format("{}{}", bytes / unit.scale, unit.unit);
  }
  return std::to_string(bytes);
}

}  // namespace bto
