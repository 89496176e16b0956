#pragma once
// The decoder's output: one bpftrace event, independent of how it was printed
// (printf-JSON, raw JSON line or tuple). Nothing past decode/ sees simdjson.

#include <cstdint>
#include <span>
#include <string_view>

namespace bto {

// Which part of a span an event describes, derived from its name's suffix.
enum class EventPhase : uint8_t {
  kStart,   // *_start, *_begin
  kEnd,     // *_end, *_done, *_complete, *_finish
  kSingle,  // no suffix: a complete span (with duration) or a point event
};

enum class ValueType : uint8_t { kInt, kDouble, kBool, kString };

struct FieldValue {
  ValueType type = ValueType::kInt;
  int64_t int_value = 0;
  double double_value = 0;
  bool bool_value = false;
  std::string_view string_value;  // valid UTF-8 (the decoder sanitises)
};

struct EventField {
  std::string_view key;
  FieldValue value;
};

// Views into decoder-owned memory: valid only during EventSink::on_event.
// Whoever keeps data copies it.
struct Event {
  std::string_view name;    // e.g. "http_request_start"
  std::string_view family;  // name without the phase suffix, e.g. "http_request"
  EventPhase phase = EventPhase::kSingle;
  std::span<const EventField> fields;

  const FieldValue* find(std::string_view key) const noexcept {
    for (const EventField& field : fields) {
      if (field.key == key) return &field.value;
    }
    return nullptr;
  }
};

struct NameParts {
  std::string_view family;
  EventPhase phase;
};

// "http_request_start" -> {"http_request", kStart}; "db_query" -> {"db_query", kSingle}.
NameParts split_event_name(std::string_view name) noexcept;

}  // namespace bto
