#pragma once
// Private to decode/: repairs lines that simdjson rejects as invalid UTF-8.

#include <cstddef>
#include <string_view>

namespace bto {

// Worst case growth of sanitize_utf8: every input byte becomes U+FFFD (3 bytes).
inline constexpr size_t kUtf8SanitizeGrowth = 3;

// Copies `in` to `out` (room for kUtf8SanitizeGrowth * in.size() bytes),
// replacing each maximal invalid subsequence (Unicode 15 §3.9, "substitution of
// maximal subparts") with U+FFFD. Overlongs, surrogates and code points above
// U+10FFFF are invalid, as in simdjson. Returns the bytes written.
size_t sanitize_utf8(std::string_view in, char* out) noexcept;

}  // namespace bto
