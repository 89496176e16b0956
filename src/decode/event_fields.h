#pragma once
// Private to decode/: the field appender every input shape writes through.
// Turns one simdjson value into an EventField (numbers, strings, booleans;
// other types are counted and dropped), up to DecodeOptions::max_fields.
// Integers above INT64_MAX (a pointer or hash used as an id) become their
// exact decimal digits as a string, as bpftrace 0.26+ print them itself, so an
// id pairs whatever the version (docs/compatibility.md).

#include <simdjson.h>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "decode/event.h"

namespace bto::decode_detail {

// Fields one event lost, reported when it is delivered.
struct FieldCounts {
  uint32_t wrong_type = 0;  // object, array, null, or a tuple key that is not a string
  uint32_t dropped = 0;     // beyond max_fields
};

class EventFields {
 public:
  // Sized once; slots are overwritten member by member, never value-initialised.
  explicit EventFields(size_t max_fields) : slots_(max_fields), digits_(max_fields) {}

  void clear() noexcept { count_ = 0; }
  std::span<const EventField> view() const noexcept { return {slots_.data(), count_}; }

  // Inlined into every shape's loop: passing simdjson iterators through memory
  // costs more than the call (store-forwarding stalls on every field).
  [[gnu::always_inline]] inline simdjson::error_code append(std::string_view key,
                                                            simdjson::ondemand::value& value,
                                                            FieldCounts& counts);

 private:
  std::vector<EventField> slots_;
  // Per slot: the decimal digits of an integer above INT64_MAX (its string_value).
  std::vector<std::array<char, 20>> digits_;
  size_t count_ = 0;
};

simdjson::error_code EventFields::append(std::string_view key, simdjson::ondemand::value& value,
                                         FieldCounts& counts) {
  namespace od = simdjson::ondemand;
  using simdjson::error_code;
  od::json_type type{};
  if (error_code error = value.type().get(type)) return error;
  if (count_ >= slots_.size()) {
    ++counts.dropped;
    return simdjson::SUCCESS;
  }
  // Written member by member into a preallocated slot (no value-initialisation).
  EventField& field = slots_[count_];
  field.key = key;
  FieldValue& out = field.value;
  out.int_value = 0;
  out.double_value = 0;
  out.bool_value = false;
  out.string_value = {};
  switch (type) {
    case od::json_type::number: {
      // Nearly every number bpftrace prints is a signed 64-bit integer (ids,
      // nsecs, tid, status): get_int64 parses it in about half the
      // instructions of get_number's classification. A failed attempt does
      // not move the iterator, so other numbers take the general path below.
      if (value.get_int64().get(out.int_value) == simdjson::SUCCESS) {
        out.type = ValueType::kInt;
        ++count_;
        return simdjson::SUCCESS;
      }
      out.int_value = 0;
      od::number number;
      error_code error = value.get_number().get(number);
      if (error) {
        // Integers beyond 64 bits: keep them as the nearest double.
        if (value.get_double().get(out.double_value)) {
          return error;
        }
        out.type = ValueType::kDouble;
        ++count_;
        return simdjson::SUCCESS;
      }
      switch (number.get_number_type()) {
        case od::number_type::signed_integer:
          out.type = ValueType::kInt;
          out.int_value = number.get_int64();
          break;
        case od::number_type::unsigned_integer: {
          std::array<char, 20>& digits = digits_[count_];
          const auto written = std::to_chars(digits.data(), digits.data() + digits.size(), number.get_uint64());
          out.type = ValueType::kString;
          out.string_value = std::string_view(digits.data(), static_cast<size_t>(written.ptr - digits.data()));
          break;
        }
        case od::number_type::floating_point_number:
          out.type = ValueType::kDouble;
          out.double_value = number.get_double();
          break;
      }
      ++count_;
      return simdjson::SUCCESS;
    }
    case od::json_type::string:
      out.type = ValueType::kString;
      if (error_code error = value.get_string().get(out.string_value)) return error;
      ++count_;
      return simdjson::SUCCESS;
    case od::json_type::boolean:
      out.type = ValueType::kBool;
      if (error_code error = value.get_bool().get(out.bool_value)) return error;
      ++count_;
      return simdjson::SUCCESS;
    case od::json_type::null: {
      bool is_null = false;
      if (error_code error = value.is_null().get(is_null)) return error;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      ++counts.wrong_type;
      return simdjson::SUCCESS;
    }
    case od::json_type::object:
    case od::json_type::array:
      // Skipped by the iterator when it moves on.
      ++counts.wrong_type;
      return simdjson::SUCCESS;
  }
  return simdjson::SUCCESS;
}

}  // namespace bto::decode_detail
