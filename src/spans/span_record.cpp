#include "spans/span_record.h"

#include <algorithm>

namespace bto {

Attribute& AttributeList::slot_for(std::string_view key, AttrType type) {
  for (size_t i = 0; i < size_; ++i) {
    if (slots_[i].key == key) {
      slots_[i].type = type;
      return slots_[i];
    }
  }
  if (size_ == slots_.size()) slots_.emplace_back();
  Attribute& slot = slots_[size_++];
  slot.key.assign(key);  // keeps the slot's capacity
  slot.type = type;
  return slot;
}

void AttributeList::set_string(std::string_view key, std::string_view value) {
  slot_for(key, AttrType::kString).string_value.assign(value);
}

void AttributeList::set_int(std::string_view key, int64_t value) {
  slot_for(key, AttrType::kInt).int_value = value;
}

void AttributeList::set_double(std::string_view key, double value) {
  slot_for(key, AttrType::kDouble).double_value = value;
}

void AttributeList::set_bool(std::string_view key, bool value) {
  slot_for(key, AttrType::kBool).bool_value = value;
}

const Attribute* AttributeList::find(std::string_view key) const noexcept {
  for (size_t i = 0; i < size_; ++i) {
    if (slots_[i].key == key) return &slots_[i];
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
  dropped_attributes_count = 0;
  events.clear();
  depth = 0;
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
