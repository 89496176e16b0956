#pragma once
// Attribute keys repeat on every span and are few, so each distinct key is
// stored once per process and attributes hold a view of it (16 bytes per
// attribute instead of a 32-byte string, no heap copy of long keys).
//
// Keys can come from untrusted events, so the store is bounded: at most
// kMaxAttributeKeys keys of at most kMaxAttributeKeyBytes bytes. A key that
// does not fit is refused and the attribute is dropped (counted as a dropped
// attribute, like one beyond the count limit). Thread-safe; lookups take no lock.

#include <cstddef>
#include <string_view>

namespace bto {

inline constexpr size_t kMaxAttributeKeys = 16384;
inline constexpr size_t kMaxAttributeKeyBytes = 1024;

// On success `out` views the stored copy, valid until the process exits.
bool intern_attribute_key(std::string_view key, std::string_view& out) noexcept;
size_t interned_attribute_key_count() noexcept;

}  // namespace bto
