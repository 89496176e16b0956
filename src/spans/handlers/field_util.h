#pragma once
// Shared by the built-in handlers (private to spans/handlers/): typed field
// access, the reserved-field rule, generic attributes and error status.

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "decode/event.h"
#include "spans/span_record.h"

namespace bto::handler_util {

// Fields the correlator consumes; never turned into attributes by default.
inline bool is_reserved(std::string_view key) noexcept {
  return key == "request_id" || key == "parent_id" || key == "timestamp" || key == "duration" ||
         key == "traceparent" || key == "trace_id" || key == "span_id";
}

const EventField* find_field(const Event& event, std::string_view key) noexcept;
// The first of `keys` present in the event (priority order).
const EventField* find_first(const Event& event, std::initializer_list<std::string_view> keys) noexcept;

// Integer view of a field: int, integral double, or a decimal string.
bool as_int(const FieldValue& value, int64_t& out) noexcept;

// Sets `key` on the attribute list with the field's own type.
void set_attribute(AttributeList& attributes, std::string_view key, const FieldValue& value);

// Every field not in `consumed` and not reserved becomes an attribute under its
// own name (tid becomes thread.id); a non-zero error/errno makes the span an error.
void apply_common(const Event& event, SpanRecord& span, std::initializer_list<const EventField*> consumed);

// "HTTP 503"-style messages without allocating beyond the message's capacity.
void set_error(SpanRecord& span, std::string_view prefix, int64_t code);

}  // namespace bto::handler_util
