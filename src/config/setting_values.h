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

uint64_t count_or_reject(const std::string& key, const std::string& value,
                         const std::string& source, uint64_t min, uint64_t max);
bool bool_or_reject(const std::string& key, const std::string& value, const std::string& source);

// "10s", "250ms" or "12ns": the largest unit that shows the value exactly.
std::string show_duration(std::chrono::nanoseconds value);
std::string show_ms(std::chrono::milliseconds value);  // always "<n>ms"
std::string show_bool(bool value);

// Without leading and trailing spaces.
std::string trim_spaces(std::string_view text);

}  // namespace bto
