#pragma once
// Shared by the settings table files: turning a setting's text into a value,
// or into a StartupError that names the setting, where the value came from
// and what is accepted.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace bto {

// `shown_value` is printed as given (e.g. "(value hidden)" for secrets).
[[noreturn]] void reject_shown(const std::string& key, const std::string& source,
                               const std::string& shown_value, const std::string& accepted);
// Quotes `value` (bounded, non-printable bytes escaped).
[[noreturn]] void reject(const std::string& key, const std::string& source,
                         const std::string& value, const std::string& accepted);

// How one duration setting is read and checked (issue 17.6: 0 busy-looped or
// timed everything out, values near the int64 limit overflowed).
struct DurationRule {
  std::chrono::nanoseconds bare_unit;  // a number without a unit is in this
  std::chrono::nanoseconds min;        // smallest accepted value other than 0
  std::chrono::nanoseconds max;        // largest accepted value
  // What 0 means, for --help and errors; nullptr: 0 is refused with `zero_refused`.
  const char* zero_means = nullptr;
  const char* zero_refused = nullptr;  // why 0 is refused
};

// Parses and checks `value` against `rule`; throws StartupError naming the
// setting, the accepted range and what 0 means.
std::chrono::nanoseconds duration_or_reject(const std::string& key, const std::string& value,
                                            const std::string& source, const DurationRule& rule);

// OpenTelemetry's "0 = no limit" for export timeouts, stored as a span that
// no deadline arithmetic can overflow (steady or system clock + 10 years).
inline constexpr std::chrono::milliseconds kNoTimeLimit = std::chrono::hours(24 * 365 * 10);
// "10s", or "0 (no limit)" for kNoTimeLimit.
std::string show_time_limit(std::chrono::milliseconds value);

uint64_t count_or_reject(const std::string& key, const std::string& value,
                         const std::string& source, uint64_t min, uint64_t max);
bool bool_or_reject(const std::string& key, const std::string& value, const std::string& source);

// "10s", "250ms" or "12ns": the largest unit that shows the value exactly.
std::string show_duration(std::chrono::nanoseconds value);
std::string show_ms(std::chrono::milliseconds value);  // always "<n>ms"
std::string show_bool(bool value);

// Without leading and trailing spaces.
std::string trim_spaces(std::string_view text);

// 64MiB, 1GiB: the largest binary unit that divides `bytes`, else bytes.
std::string show_size(uint64_t bytes);

}  // namespace bto
