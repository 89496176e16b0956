#pragma once
// Span and resource attributes: a flat, pooled list of typed key/value pairs
// with the OpenTelemetry attribute limits (split from span_record.h so that
// resource.h can use it without the span record).

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bto {

enum class AttrType : uint8_t { kString, kBool, kInt, kDouble };

// Flat on purpose (no std::variant): a reused slot keeps its string capacity.
// 64 bytes: the key views the process-wide key store (spans/attribute_keys.h)
// and the scalar value shares one word; read the member `type` names.
struct Attribute {
  std::string_view key;
  std::string string_value;
  union {
    int64_t int_value = 0;
    double double_value;
    bool bool_value;
  };
  AttrType type = AttrType::kString;
  bool truncated = false;  // string_value was cut to the value length limit
};

// Optional OpenTelemetry span limits: at most `max_count` keys (new keys
// beyond it are dropped and counted) and string values of at most
// `max_value_bytes` (cut at a UTF-8 boundary and counted). Enforced on insert,
// so an open span never holds more than the limits allow.
class AttributeList {
 public:
  static constexpr size_t kUnlimited = static_cast<size_t>(-1);

  std::span<const Attribute> items() const noexcept { return {slots_.data(), size_}; }
  std::span<Attribute> items() noexcept { return {slots_.data(), size_}; }
  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Also zeroes the drop count; the limits stay.
  void clear() noexcept {
    size_ = 0;
    dropped_ = 0;
  }
  // Limits above 2^32 - 1 mean "unlimited" (no span holds that much anyway).
  void set_limits(size_t max_count, size_t max_value_bytes) noexcept {
    max_count_ = static_cast<uint32_t>(std::min<size_t>(max_count, kStoredUnlimited));
    max_value_bytes_ = static_cast<uint32_t>(std::min<size_t>(max_value_bytes, kStoredUnlimited));
  }
  // Every attempt to add a key beyond max_count (setting the same dropped key
  // twice counts twice).
  uint32_t dropped() const noexcept { return dropped_; }
  void set_dropped(uint32_t count) noexcept { dropped_ = count; }
  // Attributes whose current value was cut.
  uint32_t truncated() const noexcept;
  // Every slot, used or kept for reuse (their strings keep their capacity):
  // what the list holds in memory (spans/memory_budget.h).
  std::span<const Attribute> all_slots() const noexcept { return slots_; }
  size_t slot_capacity() const noexcept { return slots_.capacity(); }

  // Sets an existing key or appends one (reusing a pooled slot).
  // `from_event`: the key is an event field's own name (attribute_keys.h, KeySource).
  void set_string(std::string_view key, std::string_view value, bool from_event = false);
  void set_int(std::string_view key, int64_t value, bool from_event = false);
  void set_double(std::string_view key, double value, bool from_event = false);
  void set_bool(std::string_view key, bool value, bool from_event = false);
  // Sets `from`'s key to its value, whatever its type.
  void set(const Attribute& from);
  // Ignores the count limit: the exporter's own diagnostics (why a span is
  // incomplete) must survive a span that is full of user attributes. `key`
  // must be a string literal (it is used as is if the key store is full).
  void set_reserved_string(std::string_view key, std::string_view value);
  void set_reserved_int(std::string_view key, int64_t value);  // the same for an integer
  const Attribute* find(std::string_view key) const noexcept;
  bool remove(std::string_view key) noexcept;
  // Appends a slot without the duplicate check or the limits, for attributes
  // that passed them once already (a packed open span being restored). The
  // caller sets every member; `key` must outlive the record (interned).
  Attribute& append_checked_before();

 private:
  Attribute* slot_for(std::string_view key, AttrType type, bool reserved = false, bool from_event = false);

  // 32-bit counts keep an open span's record small (100k of them may be held).
  static constexpr uint32_t kStoredUnlimited = UINT32_MAX;
  std::vector<Attribute> slots_;
  uint32_t size_ = 0;
  uint32_t max_count_ = kStoredUnlimited;
  uint32_t max_value_bytes_ = kStoredUnlimited;
  uint32_t dropped_ = 0;
};

// The longest prefix of `text` of at most `max_bytes` that does not split a
// UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes) noexcept;

}  // namespace bto
