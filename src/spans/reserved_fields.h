#pragma once
// Private to spans/: the fields the correlator itself reads from an event
// (ids, parent, trace context, timing, thread), found in one pass, and the
// correlation id that pairs a start with its end. Inline: every event.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "decode/event.h"
#include "spans/clock.h"
#include "spans/handlers/field_util.h"

namespace bto {

// Longer ids are rejected: each open span keeps its id in several indexes, so
// unbounded ids would make memory unbounded (found by fuzz/adversarial tests).
constexpr size_t kMaxIdBytes = 256;

// The correlation id as text: 42 and "42" are the same key. Returns false for
// a missing, empty, overlong, boolean or fractional id.
struct IdText {
  char buffer[24];
  std::string_view text;

  bool set(const FieldValue* value) noexcept {
    if (value == nullptr) return false;
    int64_t number = 0;
    switch (value->type) {
      case ValueType::kString:
        text = value->string_value;
        return !text.empty() && text.size() <= kMaxIdBytes;
      case ValueType::kInt:
      case ValueType::kDouble:
        if (!handler_util::as_int(*value, number)) return false;
        {
          const auto result = std::to_chars(buffer, buffer + sizeof buffer, number);
          text = std::string_view(buffer, static_cast<size_t>(result.ptr - buffer));
        }
        return true;
      case ValueType::kBool:
        return false;
    }
    return false;
  }
};

struct ReservedFields {
  const FieldValue* request_id = nullptr;
  const FieldValue* parent_id = nullptr;
  const FieldValue* timestamp = nullptr;
  const FieldValue* duration = nullptr;
  const FieldValue* tid = nullptr;
  const FieldValue* pid = nullptr;
  const FieldValue* traceparent = nullptr;
  const FieldValue* trace_id = nullptr;
  const FieldValue* span_id = nullptr;

  explicit ReservedFields(const Event& event) noexcept {
    using handler_util::key_is;
    for (const EventField& field : event.fields) {
      const std::string_view key = field.key;
      switch (key.size()) {
        case 3:
          if (key_is(key, "tid")) tid = &field.value;
          else if (key_is(key, "pid")) pid = &field.value;
          break;
        case 7:
          if (key_is(key, "span_id")) span_id = &field.value;
          break;
        case 8:
          if (key_is(key, "duration")) duration = &field.value;
          else if (key_is(key, "trace_id")) trace_id = &field.value;
          break;
        case 9:
          if (key_is(key, "timestamp")) timestamp = &field.value;
          else if (key_is(key, "parent_id")) parent_id = &field.value;
          break;
        case 10:
          if (key_is(key, "request_id")) request_id = &field.value;
          break;
        case 11:
          if (key_is(key, "traceparent")) traceparent = &field.value;
          break;
        default:
          break;
      }
    }
  }

  // The thread id, when the event has an integer `tid`.
  bool has_tid() const noexcept { return tid != nullptr && tid->type == ValueType::kInt; }

  // The process id (`pid`: an integer, or its decimal text); 0 when absent or unusable.
  int64_t process_id() const noexcept {
    if (pid == nullptr) return 0;
    int64_t value = 0;
    if (pid->type == ValueType::kInt) {
      value = pid->int_value;
    } else if (!handler_util::as_int(*pid, value)) {
      return 0;
    }
    return value > 0 ? value : 0;
  }
};

// Two events may belong to one span: unless both name their process and the
// processes differ (request ids are per process; 0 = not named).
inline bool same_process(int64_t a, int64_t b) noexcept { return a == 0 || b == 0 || a == b; }

// The event's timestamp as Unix ns; `raw` gets the value itself when it is
// CLOCK_MONOTONIC, else 0. False when there is no usable timestamp.
inline bool timestamp_of(const ReservedFields& reserved, TimestampConverter& clock, uint64_t& out,
                         uint64_t& raw) noexcept {
  int64_t value = 0;
  if (reserved.timestamp == nullptr || !handler_util::as_int(*reserved.timestamp, value) || value <= 0) {
    return false;
  }
  const uint64_t event_ns = static_cast<uint64_t>(value);
  raw = TimestampConverter::is_monotonic(event_ns) ? event_ns : 0;
  out = clock.to_unix_ns(event_ns);
  return true;
}

inline bool duration_of(const ReservedFields& reserved, int64_t& out) noexcept {
  return reserved.duration != nullptr && handler_util::as_int(*reserved.duration, out) && out >= 0;
}

// The text that pairs a start with its end: request_id, or the family's key
// fields joined by '\x1e' (kept in the reader, valid until its next call).
class CorrelationIdReader {
 public:
  bool read(const Event& event, std::span<const std::string> key_fields, const ReservedFields& reserved,
            IdText& id) {
    if (key_fields.empty()) return id.set(reserved.request_id);
    return read_composite(event, key_fields, id);
  }

 private:
  bool read_composite(const Event& event, std::span<const std::string> key_fields, IdText& id);

  std::string composite_;
};

}  // namespace bto
