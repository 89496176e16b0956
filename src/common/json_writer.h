#pragma once
// Appends JSON text to a reused std::string (no DOM, no per-call allocation
// once the buffer has grown). Input strings must be valid UTF-8.

#include <cstdint>
#include <string>
#include <string_view>

namespace bto {

// Appends `value` as a quoted JSON string (RFC 8259 escaping).
void append_json_string(std::string& out, std::string_view value);
void append_json_int(std::string& out, int64_t value);
void append_json_uint(std::string& out, uint64_t value);
// Non-finite values have no JSON form: written as a string ("NaN", "Infinity").
void append_json_double(std::string& out, double value);

}  // namespace bto
