#pragma once
// Parsers for setting values. Each returns nullopt on bad input; the caller
// reports the setting name and the accepted values.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bto {

// "250ms", "10s", "5m", "1h", "100us"; a bare number is taken in `bare_unit`.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text,
                                                       std::chrono::nanoseconds bare_unit);
std::optional<uint64_t> parse_unsigned(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);  // true/false/1/0/yes/no/on/off
// Bytes: "1GiB", "512MiB", "64KiB", "100MB", "1GB", "4096" (KB/MB/GB/TB are
// powers of 1000, KiB.. of 1024; "k", "M", "G" alone as KiB, MiB, GiB).
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace bto
