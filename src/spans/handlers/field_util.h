#pragma once
// Shared by the handlers (private to spans/): typed field access and value
// conversions, the reserved-field rule, generic attributes and error status.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "decode/event.h"
#include "spans/attribute_keys.h"
#include "spans/span_record.h"

namespace bto::handler_util {

// `key == literal` as a length check and a fixed-size compare, which the
// compiler turns into a few integer loads; the generic operator== calls
// memcmp, and field keys are compared several times per event.
template <size_t N>
inline bool key_is(std::string_view key, const char (&literal)[N]) noexcept {
  return key.size() == N - 1 && std::memcmp(key.data(), literal, N - 1) == 0;
}

// Fields the correlator consumes; never turned into attributes by default.
inline bool is_reserved(std::string_view key) noexcept {
  switch (key.size()) {
    case 3:
      return key_is(key, "pid");  // the process: its resource (process.pid), not a span attribute
    case 7:
      return key_is(key, "span_id");
    case 8:
      return key_is(key, "duration") || key_is(key, "trace_id");
    case 9:
      return key_is(key, "parent_id") || key_is(key, "timestamp");
    case 10:
      return key_is(key, "request_id");
    case 11:
      return key_is(key, "traceparent");
    default:
      return false;
  }
}

template <size_t N>
const EventField* find_field(const Event& event, const char (&key)[N]) noexcept {
  for (const EventField& field : event.fields) {
    if (key_is(field.key, key)) return &field;
  }
  return nullptr;
}
const EventField* find_field(const Event& event, std::string_view key) noexcept;
// The first of `keys` present in the event (priority order).
const EventField* find_first(const Event& event, std::initializer_list<std::string_view> keys) noexcept;

// Integer view of a field: int, integral double, or a decimal string.
bool as_int(const FieldValue& value, int64_t& out) noexcept;

// Double view: int, double, bool (0/1) or a decimal string.
bool as_double(const FieldValue& value, double& out) noexcept;

// Conversions of declared families (`type = ...`): int also takes bools and
// cuts fractional numbers toward zero; bool takes numbers (non-zero) and
// true/false/yes/no/1/0 text (any case).
bool to_int(const FieldValue& value, int64_t& out) noexcept;
bool to_bool(const FieldValue& value, bool& out) noexcept;

// Appends a value's text without allocating beyond `out`'s capacity.
void append_value(std::string& out, const FieldValue& value);

// An attribute read back as a field value (views into the attribute).
// Inline: declared families read the start's attributes at every end.
inline FieldValue value_of(const Attribute& attribute) noexcept {
  FieldValue value;
  switch (attribute.type) {
    case AttrType::kString:
      value.type = ValueType::kString;
      value.string_value = attribute.string_value;
      break;
    case AttrType::kBool:
      value.type = ValueType::kBool;
      value.bool_value = attribute.bool_value;
      break;
    case AttrType::kInt:
      value.type = ValueType::kInt;
      value.int_value = attribute.int_value;
      break;
    case AttrType::kDouble:
      value.type = ValueType::kDouble;
      value.double_value = attribute.double_value;
      break;
  }
  return value;
}

// Sets `key` on the attribute list with the field's own type. Keys are taken
// as an event field's own name unless the caller says it chose the key.
void set_attribute(AttributeList& attributes, std::string_view key, const FieldValue& value,
                   KeySource source = KeySource::kEvent);

// Every field not in `consumed` and not reserved becomes an attribute under its
// own name (tid becomes thread.id); a non-zero error/errno makes the span an error.
void apply_common(const Event& event, SpanRecord& span, std::initializer_list<const EventField*> consumed);

// "HTTP 503"-style messages without allocating beyond the message's capacity.
void set_error(SpanRecord& span, std::string_view prefix, int64_t code);

}  // namespace bto::handler_util
