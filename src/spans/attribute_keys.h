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
#include <string_view>

namespace bto {

inline constexpr size_t kMaxAttributeKeys = 16384;
inline constexpr size_t kMaxAttributeKeyBytes = 1024;
inline constexpr size_t kReservedAttributeKeys = 1024;

// Who named a key: our code or configuration (trusted), or an event field.
enum class KeySource : uint8_t { kCode, kEvent };

// On success `out` views the stored copy, valid until the process exits.
bool intern_attribute_key(std::string_view key, std::string_view& out, KeySource source = KeySource::kCode) noexcept;
size_t interned_attribute_key_count() noexcept;
// Keys refused since start (too long, or no room left for their source).
uint64_t refused_attribute_key_count() noexcept;

}  // namespace bto
