#include "spans/span_record.h"

#include <algorithm>

#include "spans/attribute_keys.h"

namespace bto {

std::string_view utf8_prefix(std::string_view text, size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the sequence
  // that would be split; that sequence is left out whole.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

Attribute* AttributeList::slot_for(std::string_view key, AttrType type, bool reserved, bool from_event) {
  for (size_t i = 0; i < size_; ++i) {
    if (same_key(slots_[i].key, key)) {
      slots_[i].type = type;
      return &slots_[i];
    }
  }
  if (size_ >= max_count_ && !reserved) {
    ++dropped_;
    return nullptr;
  }
  if (size_ == slots_.size()) slots_.emplace_back();
  Attribute& slot = slots_[size_];
  // A pooled record usually sees the same keys in the same order again.
  if (!same_key(slot.key, key) &&
      !intern_attribute_key(key, slot.key, from_event ? KeySource::kEvent : KeySource::kCode)) {
    if (!reserved) {
      ++dropped_;
      return nullptr;
    }
    slot.key = key;
  }
  ++size_;
  slot.type = type;
  return &slot;
}

void AttributeList::set_string(std::string_view key, std::string_view value, bool from_event) {
  Attribute* slot = slot_for(key, AttrType::kString, false, from_event);
  if (slot == nullptr) return;
  slot->truncated = value.size() > max_value_bytes_;
  if (slot->truncated) value = utf8_prefix(value, max_value_bytes_);
  slot->string_value.assign(value);
}

Attribute& AttributeList::append_checked_before() {
  if (size_ == slots_.size()) slots_.emplace_back();
  return slots_[size_++];
}

uint32_t AttributeList::truncated() const noexcept {
  uint32_t count = 0;
  for (size_t i = 0; i < size_; ++i) count += slots_[i].type == AttrType::kString && slots_[i].truncated;
  return count;
}

void AttributeList::set_reserved_string(std::string_view key, std::string_view value) {
  Attribute* slot = slot_for(key, AttrType::kString, true);
  slot->truncated = false;
  slot->string_value.assign(value);
}

void AttributeList::set_reserved_int(std::string_view key, int64_t value) {
  slot_for(key, AttrType::kInt, true)->int_value = value;
}

void AttributeList::set_int(std::string_view key, int64_t value, bool from_event) {
  if (Attribute* slot = slot_for(key, AttrType::kInt, false, from_event)) slot->int_value = value;
}

void AttributeList::set_double(std::string_view key, double value, bool from_event) {
  if (Attribute* slot = slot_for(key, AttrType::kDouble, false, from_event)) slot->double_value = value;
}

void AttributeList::set(const Attribute& from) {
  switch (from.type) {
    case AttrType::kString: set_string(from.key, from.string_value); break;
    case AttrType::kBool: set_bool(from.key, from.bool_value); break;
    case AttrType::kInt: set_int(from.key, from.int_value); break;
    case AttrType::kDouble: set_double(from.key, from.double_value); break;
  }
}

void AttributeList::set_bool(std::string_view key, bool value, bool from_event) {
  if (Attribute* slot = slot_for(key, AttrType::kBool, false, from_event)) slot->bool_value = value;
}

const Attribute* AttributeList::find(std::string_view key) const noexcept {
  for (size_t i = 0; i < size_; ++i) {
    if (same_key(slots_[i].key, key)) return &slots_[i];
  }
  return nullptr;
}

bool AttributeList::remove(std::string_view key) noexcept {
  for (size_t i = 0; i < size_; ++i) {
    if (slots_[i].key == key) {
      // Rotate rather than erase: keeps order and moves the freed slot (with its
      // string capacity) behind the live ones for reuse.
      std::rotate(slots_.begin() + static_cast<std::ptrdiff_t>(i),
                  slots_.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                  slots_.begin() + static_cast<std::ptrdiff_t>(size_));
      --size_;
      return true;
    }
  }
  return false;
}

bool SpanRecord::has_parent() const noexcept {
  return std::any_of(parent_span_id.begin(), parent_span_id.end(), [](uint8_t b) { return b != 0; });
}

void SpanRecord::reset() noexcept {
  trace_id = {};
  span_id = {};
  parent_span_id = {};
  name.clear();
  kind = SpanKind::kInternal;
  start_time_unix_ns = 0;
  end_time_unix_ns = 0;
  status = StatusCode::kUnset;
  status_message.clear();
  attributes.clear();
  attributes.set_limits(AttributeList::kUnlimited, AttributeList::kUnlimited);
  dropped_attributes_count = 0;
  events.clear();
  resource.reset();
  depth = 0;
  open_children = 0;
  parent_remote = false;
  origin = nullptr;
  charged_bytes = 0;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace bto
