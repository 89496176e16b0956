#include "spans/handlers/field_util.h"

#include <charconv>
#include <cmath>

namespace bto::handler_util {

const EventField* find_field(const Event& event, std::string_view key) noexcept {
  for (const EventField& field : event.fields) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

const EventField* find_first(const Event& event, std::initializer_list<std::string_view> keys) noexcept {
  for (std::string_view key : keys) {
    if (const EventField* field = find_field(event, key)) return field;
  }
  return nullptr;
}

bool as_int(const FieldValue& value, int64_t& out) noexcept {
  switch (value.type) {
    case ValueType::kInt:
      out = value.int_value;
      return true;
    case ValueType::kDouble:
      if (std::isfinite(value.double_value) && std::trunc(value.double_value) == value.double_value &&
          std::fabs(value.double_value) < 9.2e18) {
        out = static_cast<int64_t>(value.double_value);
        return true;
      }
      return false;
    case ValueType::kString: {
      const std::string_view s = value.string_value;
      if (s.empty()) return false;
      const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc() && ptr == s.data() + s.size();
    }
    case ValueType::kBool:
      return false;
  }
  return false;
}

bool as_double(const FieldValue& value, double& out) noexcept {
  switch (value.type) {
    case ValueType::kInt:
      out = static_cast<double>(value.int_value);
      return true;
    case ValueType::kDouble:
      out = value.double_value;
      return true;
    case ValueType::kBool:
      out = value.bool_value ? 1 : 0;
      return true;
    case ValueType::kString: {
      const std::string_view s = value.string_value;
      if (s.empty()) return false;
      const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      return ec == std::errc() && ptr == s.data() + s.size();
    }
  }
  return false;
}

bool to_int(const FieldValue& value, int64_t& out) noexcept {
  if (value.type == ValueType::kBool) {
    out = value.bool_value ? 1 : 0;
    return true;
  }
  if (as_int(value, out)) return true;
  double d = 0;
  // A fractional number is cut toward zero, as a C cast would.
  if (as_double(value, d) && std::isfinite(d) && std::fabs(d) < 9.2e18) {
    out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

}  // namespace

bool to_bool(const FieldValue& value, bool& out) noexcept {
  switch (value.type) {
    case ValueType::kBool:
      out = value.bool_value;
      return true;
    case ValueType::kInt:
      out = value.int_value != 0;
      return true;
    case ValueType::kDouble:
      out = value.double_value != 0;
      return true;
    case ValueType::kString: {
      const std::string_view s = value.string_value;
      if (s == "1" || equals_ignoring_case(s, "true") || equals_ignoring_case(s, "yes")) {
        out = true;
        return true;
      }
      if (s == "0" || equals_ignoring_case(s, "false") || equals_ignoring_case(s, "no")) {
        out = false;
        return true;
      }
      return false;
    }
  }
  return false;
}

void append_value(std::string& out, const FieldValue& value) {
  char buffer[40];
  switch (value.type) {
    case ValueType::kString:
      out.append(value.string_value);
      return;
    case ValueType::kBool:
      out.append(value.bool_value ? "true" : "false");
      return;
    case ValueType::kInt: {
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, value.int_value);
      out.append(buffer, result.ptr);
      return;
    }
    case ValueType::kDouble: {
      const auto result = std::to_chars(buffer, buffer + sizeof buffer, value.double_value);
      out.append(buffer, result.ptr);
      return;
    }
  }
}

void set_attribute(AttributeList& attributes, std::string_view key, const FieldValue& value, KeySource source) {
  const bool from_event = source == KeySource::kEvent;
  switch (value.type) {
    case ValueType::kInt:
      attributes.set_int(key, value.int_value, from_event);
      break;
    case ValueType::kDouble:
      attributes.set_double(key, value.double_value, from_event);
      break;
    case ValueType::kBool:
      attributes.set_bool(key, value.bool_value, from_event);
      break;
    case ValueType::kString:
      attributes.set_string(key, value.string_value, from_event);
      break;
  }
}

void set_error(SpanRecord& span, std::string_view prefix, int64_t code) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, code);
  span.status = StatusCode::kError;
  span.status_message.assign(prefix);
  span.status_message.append(digits, result.ptr);
}

namespace {

// error/errno: non-zero number, true, or a non-empty string other than "0".
void check_error_field(const EventField& field, SpanRecord& span) {
  const FieldValue& value = field.value;
  int64_t code = 0;
  if (value.type == ValueType::kBool) {
    if (value.bool_value) {
      span.status = StatusCode::kError;
      span.status_message.assign(field.key);
    }
    return;
  }
  if (as_int(value, code)) {
    if (code == 0) return;
    set_error(span, key_is(field.key, "errno") ? "errno " : "error ", code);
    return;
  }
  if (value.type == ValueType::kString && !value.string_value.empty()) {
    span.status = StatusCode::kError;
    span.status_message.assign(value.string_value);
  } else if (value.type == ValueType::kDouble && value.double_value != 0) {
    span.status = StatusCode::kError;
    span.status_message.assign(field.key);
  }
}

}  // namespace

void apply_common(const Event& event, SpanRecord& span, std::initializer_list<const EventField*> consumed) {
  for (const EventField& field : event.fields) {
    bool skip = false;
    for (const EventField* used : consumed) {
      if (used == &field) {
        skip = true;
        break;
      }
    }
    if (skip) continue;
    if (key_is(field.key, "error") || key_is(field.key, "errno")) check_error_field(field, span);
    if (is_reserved(field.key)) continue;
    if (key_is(field.key, "tid")) {
      set_attribute(span.attributes, "thread.id", field.value, KeySource::kCode);
    } else {
      set_attribute(span.attributes, field.key, field.value);
    }
  }
}

}  // namespace bto::handler_util
