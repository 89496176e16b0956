#pragma once
// Attribute keys repeat on every span and are few, so each distinct key is
// stored once per process and attributes hold a view of it (16 bytes per
// attribute instead of a 32-byte string, no heap copy of long keys).
//
// Keys can come from untrusted events, so the store is bounded: at most
// kMaxAttributeKeys keys of at most kMaxAttributeKeyBytes bytes. A key that
// does not fit is refused and the attribute is dropped (counted as a dropped
// attribute, like one beyond the count limit, and in
// refused_attribute_key_count()). Thread-safe; lookups take no lock.
//
// Keys named by events (a field's own name) may fill the store only up to
// kMaxAttributeKeys - kReservedAttributeKeys: the rest is kept for the keys
// our code and the configuration choose (semantic-convention names of the
// built-in families, configured attribute names), so a flood of junk field
// names cannot take them. The store never forgets a key: attributes on the
// export threads view keys without a lock, so a key cannot be freed safely.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace bto {

inline constexpr size_t kMaxAttributeKeys = 16384;
inline constexpr size_t kMaxAttributeKeyBytes = 1024;
inline constexpr size_t kReservedAttributeKeys = 1024;

// Who named a key: our code or configuration (trusted), or an event field.
enum class KeySource : uint8_t { kCode, kEvent };

// On success `out` views the stored copy, valid until the process exits.
// Repeated keys are found in a small per-thread cache first (a span's keys
// repeat on every span of its family), so the store's hash is computed once
// per key and cache eviction, not once per attribute.
bool intern_attribute_key(std::string_view key, std::string_view& out, KeySource source = KeySource::kCode) noexcept;
size_t interned_attribute_key_count() noexcept;
// Keys refused since start (too long, or no room left for their source).
uint64_t refused_attribute_key_count() noexcept;

namespace key_detail {

inline uint64_t load8(const char* p) noexcept {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

inline uint32_t load4(const char* p) noexcept {
  uint32_t word;
  std::memcpy(&word, p, 4);
  return word;
}

// The first and last bytes of `key` (up to 8 each, overlapping for short
// keys) folded into one word: with the length, enough to tell a span's keys
// apart in a small cache. Fixed-size loads only, no call.
inline uint64_t key_ends(std::string_view key) noexcept {
  const char* p = key.data();
  const size_t n = key.size();
  if (n >= 8) return load8(p) ^ (load8(p + n - 8) << 1);
  if (n >= 4) return load4(p) ^ (static_cast<uint64_t>(load4(p + n - 4)) << 29);
  uint64_t word = 0;
  for (size_t i = 0; i < n; ++i) word = (word << 8) | static_cast<unsigned char>(p[i]);
  return word;
}

}  // namespace key_detail

// Equal key text, compared inline. Keys are short and compared several times
// per attribute: a call to memcmp cost more than the compare itself
// (docs/performance.md). The same view (an interned key against itself)
// needs no byte compare at all.
inline bool same_key(std::string_view a, std::string_view b) noexcept {
  using key_detail::load4;
  using key_detail::load8;
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (p == q) return true;
  if (n >= 8) {
    for (size_t i = 0; i + 8 <= n; i += 8) {
      if (load8(p + i) != load8(q + i)) return false;
    }
    return load8(p + n - 8) == load8(q + n - 8);  // the tail, overlapping
  }
  if (n >= 4) return load4(p) == load4(q) && load4(p + n - 4) == load4(q + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

}  // namespace bto
